package task

// statusOf is the HTTP-like status of each code, as NATS services carry
// it in their Nats-Service-Error-Code header: the caller's mistakes are
// 4xx, what a retry may fix is 429, 502, 503 or 504, bugs are 500.
var statusOf = map[Code]int{
	CodeInvalidRequest:       400,
	CodeInvalidPlan:          400,
	CodeBadInput:             400,
	CodeContextLength:        400,
	CodeModelLacksCapability: 400,
	CodeInvalidArgs:          400,
	CodeModelNotFound:        404,
	CodeNotFound:             404,
	CodeTooLarge:             413,
	CodeRateLimited:          429,
	CodeCancelled:            499,
	CodeInternal:             500,
	CodeUpstream:             502,
	CodeAuth:                 502,
	CodeLost:                 502,
	CodeToolFailed:           502,
	CodeToolError:            502,
	CodeNoModel:              503,
	CodeModelUnavailable:     503,
	CodeOverloaded:           503,
	CodeUnavailable:          503,
	CodeTimeout:              504,
	CodeToolTimeout:          504,
}

// Status is the code's HTTP-like status (500 for a code it does not know).
func (c Code) Status() int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return 500
}
