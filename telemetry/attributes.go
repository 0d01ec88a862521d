package telemetry

import "go.opentelemetry.io/otel/attribute"

// Span attributes of taskrouter's own, under the taskrouter. namespace.
const (
	AttrRequestID  = attribute.Key("taskrouter.request.id")
	AttrIngress    = attribute.Key("taskrouter.ingress")
	AttrSubtaskID  = attribute.Key("taskrouter.subtask.id")
	AttrCapability = attribute.Key("taskrouter.capability")
	AttrModel      = attribute.Key("taskrouter.model")
	AttrAttempt    = attribute.Key("taskrouter.attempt")
	AttrExecutor   = attribute.Key("taskrouter.executor")
	AttrPlanner    = attribute.Key("taskrouter.planner")
	AttrSubtasks   = attribute.Key("taskrouter.plan.subtasks")
	AttrErrorCode  = attribute.Key("taskrouter.error.code")
	AttrJobID      = attribute.Key("taskrouter.job.id")
	AttrStatus     = attribute.Key("taskrouter.status")
)

// The OpenTelemetry semantic conventions' attributes that taskrouter
// sets: generative AI (gen_ai.*), HTTP, messaging and errors.
const (
	AttrGenAIOperation     = attribute.Key("gen_ai.operation.name")
	AttrGenAIProvider      = attribute.Key("gen_ai.provider.name")
	AttrGenAISystem        = attribute.Key("gen_ai.system")
	AttrGenAIRequestModel  = attribute.Key("gen_ai.request.model")
	AttrGenAIResponseModel = attribute.Key("gen_ai.response.model")
	AttrGenAIMaxTokens     = attribute.Key("gen_ai.request.max_tokens")
	AttrGenAITemperature   = attribute.Key("gen_ai.request.temperature")
	AttrGenAITopP          = attribute.Key("gen_ai.request.top_p")
	AttrGenAIInputTokens   = attribute.Key("gen_ai.usage.input_tokens")
	AttrGenAIOutputTokens  = attribute.Key("gen_ai.usage.output_tokens")
	AttrGenAIFinishReasons = attribute.Key("gen_ai.response.finish_reasons")
	AttrGenAIStreaming     = attribute.Key("gen_ai.request.stream")

	AttrHTTPMethod     = attribute.Key("http.request.method")
	AttrHTTPRoute      = attribute.Key("http.route")
	AttrHTTPStatusCode = attribute.Key("http.response.status_code")
	AttrURLPath        = attribute.Key("url.path")
	AttrServerAddress  = attribute.Key("server.address")
	AttrServerPort     = attribute.Key("server.port")

	AttrMessagingSystem      = attribute.Key("messaging.system")
	AttrMessagingDestination = attribute.Key("messaging.destination.name")
	AttrMessagingOperation   = attribute.Key("messaging.operation.type")

	AttrErrorType = attribute.Key("error.type")
)
