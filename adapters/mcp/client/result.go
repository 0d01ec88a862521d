package client

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/task"
)

// output turns a tool's result into a subtask's output: structured
// content as JSON (format json), else the text of its content, one block
// per line. Content taskrouter cannot carry yet (images, audio, blobs:
// there is no artifact store) is named in a line of its own, never
// dropped silently. An error result is a *task.Error with
// task.CodeToolError carrying the tool's own text.
func (t *Tool) output(res *mcp.CallToolResult) (task.Output, error) {
	text := contentText(res.Content)
	if res.IsError {
		if text == "" {
			text = "the tool reported an error and said nothing more"
		}
		return task.Output{}, task.Errorf(task.CodeToolError, "tool %s (%s) answered with an error: %s", t.Capability.Name, t.Name, text)
	}
	if res.StructuredContent != nil {
		data, err := json.Marshal(res.StructuredContent)
		if err != nil {
			return task.Output{}, task.Errorf(task.CodeToolFailed, "tool %s (%s): encoding its structured content: %v", t.Capability.Name, t.Name, err)
		}
		return task.Output{Text: string(data), Format: "json"}, nil
	}
	return task.Output{Text: text}, nil
}

func contentText(content []mcp.Content) string {
	lines := make([]string, 0, len(content))
	for _, c := range content {
		if line := contentLine(c); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

func contentLine(c mcp.Content) string {
	switch v := c.(type) {
	case *mcp.TextContent:
		return v.Text
	case *mcp.ImageContent:
		return fmt.Sprintf("[image %s, %d bytes, not included: taskrouter carries text and JSON results only]", v.MIMEType, len(v.Data))
	case *mcp.AudioContent:
		return fmt.Sprintf("[audio %s, %d bytes, not included: taskrouter carries text and JSON results only]", v.MIMEType, len(v.Data))
	case *mcp.ResourceLink:
		return fmt.Sprintf("[resource %s: %s]", v.Name, v.URI)
	case *mcp.EmbeddedResource:
		if v.Resource == nil {
			return ""
		}
		if v.Resource.Text != "" {
			return v.Resource.Text
		}
		return fmt.Sprintf("[resource %s, %s, %d bytes, not included: taskrouter carries text and JSON results only]", v.Resource.URI, v.Resource.MIMEType, len(v.Resource.Blob))
	}
	return ""
}
