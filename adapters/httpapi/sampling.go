package httpapi

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// samplingReader reads OpenAI's generation settings, top-level fields of
// a chat completion or job request, into a task.Sampling for the model
// that writes the answer. It reads and checks one field at a time, each
// alone with Sampling.Check, so that a wrong type or an out-of-range value
// is answered with that field as its param, without reading the field's
// name out of Check's message. It allocates the Sampling at the first
// field with a value, so a request without any keeps a nil one.
type samplingReader struct {
	s *task.Sampling
	// maxTokensFrom is the field MaxTokens came from: max_tokens and
	// max_completion_tokens are two names of one setting.
	maxTokensFrom string
}

// field reads one generation setting: temperature, top_p, max_tokens,
// max_completion_tokens, stop, seed, presence_penalty, frequency_penalty
// or response_format. JSON null leaves it unset.
func (r *samplingReader) field(name string, v gjson.Result) *apiError {
	if v.Type == gjson.Null {
		return nil
	}
	var one task.Sampling // the field alone, for Sampling.Check
	switch name {
	case "temperature", "top_p", "presence_penalty", "frequency_penalty":
		if v.Type != gjson.Number {
			return wrongType(name, "a number")
		}
		f := &v.Num
		*floatField(&one, name) = f
		*floatField(r.sampling(), name) = f
	case "max_tokens", "max_completion_tokens":
		return r.maxTokens(name, v)
	case "seed":
		if v.Type != gjson.Number {
			return wrongType(name, "an integer")
		}
		n, err := strconv.ParseInt(v.Raw, 10, 64)
		if err != nil {
			return badInteger(name, err)
		}
		r.sampling().Seed = &n
	case "stop":
		stop, e := readStop(v)
		if e != nil || len(stop) == 0 {
			return e
		}
		one.Stop = stop
		r.sampling().Stop = stop
	case "response_format":
		if !v.IsObject() {
			return wrongType(name, `an object such as {"type": "json_object"}`)
		}
		one.ResponseFormat = []byte(v.Raw)
		r.sampling().ResponseFormat = one.ResponseFormat
	}
	if err := one.Check(); err != nil {
		return badRequest("invalid_value", task.AsError(err).Message+".").withParam(name)
	}
	return nil
}

func (r *samplingReader) sampling() *task.Sampling {
	if r.s == nil {
		r.s = new(task.Sampling)
	}
	return r.s
}

// floatField is where s keeps the number setting called name.
func floatField(s *task.Sampling, name string) **float64 {
	switch name {
	case "temperature":
		return &s.Temperature
	case "top_p":
		return &s.TopP
	case "presence_penalty":
		return &s.PresencePenalty
	}
	return &s.FrequencyPenalty
}

// maxTokens reads max_tokens or max_completion_tokens. Sampling.Check
// cannot tell them apart, and takes 0 for unset, so they are checked here.
func (r *samplingReader) maxTokens(name string, v gjson.Result) *apiError {
	if v.Type != gjson.Number {
		return wrongType(name, "an integer")
	}
	n, err := strconv.ParseInt(v.Raw, 10, strconv.IntSize)
	if err != nil {
		return badInteger(name, err)
	}
	if n < 1 {
		return badRequest("invalid_value", fmt.Sprintf("%s is %d; it must be at least 1.", name, n)).withParam(name)
	}
	s := r.sampling()
	if r.maxTokensFrom != "" && r.maxTokensFrom != name && int64(s.MaxTokens) != n {
		legacy, current := int64(s.MaxTokens), n // max_tokens, max_completion_tokens
		if name == "max_tokens" {
			legacy, current = n, int64(s.MaxTokens)
		}
		return badRequest("conflicting_max_tokens", fmt.Sprintf("max_tokens is %d but max_completion_tokens is %d; send one of them, or the same value in both.",
			legacy, current)).withParam("max_completion_tokens")
	}
	s.MaxTokens, r.maxTokensFrom = int(n), name
	return nil
}

// readStop reads stop: a string or an array of strings.
func readStop(v gjson.Result) ([]string, *apiError) {
	if v.Type == gjson.String {
		return []string{v.Str}, nil
	}
	if !v.IsArray() {
		return nil, wrongType("stop", "a string or an array of strings")
	}
	var stop []string
	ok := true
	v.ForEach(func(_, s gjson.Result) bool {
		stop = append(stop, s.Str)
		ok = s.Type == gjson.String
		return ok
	})
	if !ok {
		return nil, wrongType("stop", "a string or an array of strings")
	}
	return stop, nil
}

func wrongType(name, want string) *apiError {
	return badRequest("invalid_type", fmt.Sprintf("'%s' must be %s.", name, want)).withParam(name)
}

// badInteger answers a number that is not an integer, or one too large.
func badInteger(name string, err error) *apiError {
	if errors.Is(err, strconv.ErrRange) {
		return badRequest("invalid_value", fmt.Sprintf("%s is too large.", name)).withParam(name)
	}
	return wrongType(name, "an integer")
}
