package task

// The ingresses a request may come in by (Request.Ingress).
const (
	IngressHTTP    = "http"    // POST /v1/chat/completions
	IngressNATS    = "nats"    // tr.v1.req
	IngressJob     = "job"     // POST /v1/jobs
	IngressWebhook = "webhook" // POST /v1/webhooks/{name}, which creates a job
	IngressCLI     = "cli"     // taskrouter ask, in its own process
)
