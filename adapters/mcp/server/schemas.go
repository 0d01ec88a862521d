package server

import "encoding/json"

// The tools' JSON schemas, written out so that what an agent host reads is
// exactly what was meant: every parameter described, enums listed. A test
// holds each input schema to the struct its arguments decode into, and
// each result to its output schema.
var (
	askInputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "input": {"type": "string", "minLength": 1,
      "description": "The request in plain language, with the text to work on included, e.g. \"Summarize this text, extract its keywords and detect its language: '...'\" or \"What is 17 * 23 + 4?\"."},
    "planner": {"type": "string", "enum": ["auto", "rules", "llm", "single"],
      "description": "How to split the request into subtasks: auto (the default: the LLM planner when a planning model is configured, else rules for compound requests and one step otherwise), rules (offline matching against the capability catalog), llm (a planning model writes the plan), single (one step, no split)."},
    "model": {"type": "string",
      "description": "Run the request as one step on this registered model (a name from the models tool) instead of planning it; only that model, or the fallbacks its operator configured, answers. Leave it out to let taskrouter plan and choose."},
    "policy": {"type": "string", "enum": ["quality", "cost", "latency", "balanced"],
      "description": "What model selection favours for each subtask; the default is the router's configured policy."},
    "max_cost": {"type": "number", "minimum": 0,
      "description": "Skip models whose estimated cost for one subtask is above this many US dollars."},
    "prefer_local": {"type": "boolean",
      "description": "Rank models that run without network (the built-in local ones) first."},
    "timeout_seconds": {"type": "number", "exclusiveMinimum": 0,
      "description": "Give up after this many seconds; the router's request timeout is the default and the upper bound."}
  },
  "required": ["input"],
  "additionalProperties": false
}`)

	askOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "answer": {"type": "string", "description": "The merged answer."},
    "request_id": {"type": "string", "description": "The request's id, as the router's logs, traces and console name it."},
    "model": {"type": "string", "description": "The model whose output is the answer: the one step's, or the model that merged; absent when the answer was composed from several models' outputs."},
    "merge": {"type": "string", "description": "How the answer was composed: single (one step's output), template (the steps' outputs in sections) or model (a model wrote it)."},
    "subtasks": {"type": "array", "description": "What happened to each subtask of the plan.",
      "items": {"type": "object",
        "properties": {
          "id": {"type": "string"},
          "capability": {"type": "string"},
          "model": {"type": "string", "description": "The model that ran its last attempt."},
          "status": {"type": "string", "enum": ["pending", "running", "done", "failed", "cancelled"]},
          "attempts": {"type": "integer", "minimum": 0},
          "duration_ms": {"type": "number", "minimum": 0},
          "error": {"type": "object", "description": "Why it failed.",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"]}
        },
        "required": ["id", "capability", "status", "attempts"]}},
    "usage": {"type": "object", "description": "Tokens and cost of the whole request, over every model.",
      "properties": {
        "prompt_tokens": {"type": "integer", "minimum": 0},
        "completion_tokens": {"type": "integer", "minimum": 0},
        "cost_usd": {"type": "number", "minimum": 0}
      },
      "required": ["prompt_tokens", "completion_tokens", "cost_usd"]}
  },
  "required": ["answer", "request_id", "merge", "subtasks", "usage"]
}`)

	planInputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "input": {"type": "string", "minLength": 1,
      "description": "The request in plain language, as ask would take it."},
    "planner": {"type": "string", "enum": ["auto", "rules", "llm", "single"],
      "description": "How to split the request, as for ask; the default is the router's configured planner."}
  },
  "required": ["input"],
  "additionalProperties": false
}`)

	planOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "tasks": {"type": "array", "description": "The subtasks, a DAG: each runs once the subtasks in its deps are done.",
      "items": {"type": "object",
        "properties": {
          "id": {"type": "string"},
          "capability": {"type": "string", "description": "The kind of work, from the capability catalog."},
          "input": {"type": "string", "description": "Its input; {{id}} stands for the output of subtask id."},
          "args": {"type": "object", "additionalProperties": {"type": "string"}},
          "deps": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["id", "capability", "input", "deps"]}},
    "planner": {"type": "string", "description": "The planner that made the plan (llm or rules), when the auto planner chose."},
    "fallback_reason": {"type": "string", "description": "Why the auto planner fell back from the LLM planner to the rules."}
  },
  "required": ["tasks"]
}`)

	modelsInputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "capability": {"type": "string",
      "description": "List only the models that offer this capability (e.g. summarize, translate, chat)."}
  },
  "additionalProperties": false
}`)

	modelsOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "models": {"type": "array",
      "items": {"type": "object",
        "properties": {
          "name": {"type": "string", "description": "The name to give ask's model parameter."},
          "backend": {"type": "string", "description": "local (built in, no network) or openai (an OpenAI-compatible API)."},
          "capabilities": {"type": "array", "items": {"type": "string"}},
          "context_window": {"type": "integer", "minimum": 0, "description": "Tokens of input and output it takes; absent when unlimited or unknown."},
          "max_output_tokens": {"type": "integer", "minimum": 0},
          "price": {"type": "object", "description": "US dollars per million tokens.",
            "properties": {"input_per_mtok": {"type": "number"}, "output_per_mtok": {"type": "number"}}},
          "fallbacks": {"type": "array", "items": {"type": "string"}, "description": "The models that answer a request naming this one when it cannot, in order."},
          "replicas": {"type": "integer", "minimum": 0, "description": "Live executors serving it."},
          "in_flight": {"type": "integer", "minimum": 0, "description": "Subtasks it is working on or queueing."},
          "latency_ms": {"type": "number", "minimum": 0, "description": "Its recent latency (moving average)."},
          "state": {"type": "string", "description": "ready; cooldown (failing, its circuit open); half-open (the next call probes it); down (no live replica)."},
          "cooldown_until": {"type": "string", "format": "date-time"}
        },
        "required": ["name", "backend", "capabilities", "replicas", "in_flight", "latency_ms", "state"]}},
    "snapshot_as_of": {"type": "string", "format": "date-time", "description": "Set when the shared registry was unreachable: the list is as of this time."}
  },
  "required": ["models"]
}`)
)
