package task

// The ways a request comes in, as Request.Ingress names them.
const (
	IngressHTTP    = "http"    // POST /v1/chat/completions
	IngressNATS    = "nats"    // tr.v1.req
	IngressJob     = "job"     // POST /v1/jobs
	IngressWebhook = "webhook" // POST /v1/webhooks/{name}
	IngressMCP     = "mcp"     // the MCP server's ask tool (taskrouter mcp, /mcp)
	IngressCLI     = "cli"     // taskrouter ask, and any in-process caller
)

// IngressOf returns the request's ingress; a request that names none
// came from an in-process caller, such as taskrouter ask.
func IngressOf(r Request) string {
	switch r.Ingress {
	case IngressHTTP, IngressNATS, IngressJob, IngressWebhook, IngressMCP:
		return r.Ingress
	}
	return IngressCLI
}
