package rules

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// Attachments. A request may bring binary data (an image, a recording),
// which the plan refers to as {{a1}}, {{a2}}, ... The planner reads the
// request's text as if each attachment were a file named in it: the
// phrases that point at one ("this image", "the recording", "这张图片"),
// and its own file name, stand for a file name the payload finder
// recognises, so that the steps that work on it take it as their payload
// (and a step that needs another type gets a conversion first); the
// stand-ins then become {{aN}}. A step that reads the attachment's type
// but names no payload ("make it grayscale") takes the first attachment
// of that type.

// kindPhrases find the phrases that point at an attachment of a kind.
var kindPhrases = map[string][]*regexp.Regexp{
	task.TypeImage: {
		regexp.MustCompile(`(?i)\b(?:this|the|that|my|attached|these|those)\s+(?:attached\s+|uploaded\s+|following\s+)?(?:image|picture|photo|photograph|pic|screenshot|drawing|scan)s?\b`),
		regexp.MustCompile(`(?:这|那)(?:张|幅|个)?(?:图片|照片|截图|图像|图)`),
	},
	task.TypeAudio: {
		regexp.MustCompile(`(?i)\b(?:this|the|that|my|attached)\s+(?:attached\s+|uploaded\s+)?(?:recording|audio\s+file|audio|sound\s+file|voice\s+memo|voice\s+message|song|wav\s+file)s?\b`),
		regexp.MustCompile(`(?:这|那)(?:段|个)?(?:录音|音频|语音)`),
	},
	task.TypeVideo: {
		regexp.MustCompile(`(?i)\b(?:this|the|that|my|attached)\s+(?:attached\s+|uploaded\s+)?(?:video|movie|clip)s?\b`),
		regexp.MustCompile(`(?:这|那)(?:段|个)?视频`),
	},
	task.TypeFile: {
		regexp.MustCompile(`(?i)\b(?:this|the|that|my|attached)\s+(?:attached\s+|uploaded\s+)?(?:file|document|pdf|attachment)s?\b`),
		regexp.MustCompile(`(?:这|那)(?:个|份)?(?:文件|附件|文档)`),
	},
}

// standInExt is the extension of the stand-in file name of each kind.
var standInExt = map[string]string{task.TypeImage: "png", task.TypeAudio: "wav", task.TypeVideo: "mp4", task.TypeFile: "pdf"}

// standIn is the file name attachment i (0-based) stands as in the text.
func standIn(i int, kind string) string {
	return fmt.Sprintf("attachment%d.%s", i+1, standInExt[kind])
}

// withStandIns rewrites text so that each attachment is a file named in
// it: its own name, and the phrases that point at one of its kind (the
// first such phrase at the first such attachment, the next at the next,
// and the last attachment of the kind takes the phrases left).
func withStandIns(text string, atts []task.Attachment) string {
	byKind := map[string][]int{}
	for i, a := range atts {
		kind := task.KindOfMIME(a.MIME)
		byKind[kind] = append(byKind[kind], i)
		if name := strings.TrimSpace(a.Name); len(name) > 2 {
			text = strings.ReplaceAll(text, name, standIn(i, kind))
		}
	}
	for _, kind := range slices.Sorted(maps.Keys(byKind)) {
		idx := byKind[kind]
		for _, re := range kindPhrases[kind] {
			n := 0
			text = re.ReplaceAllStringFunc(text, func(string) string {
				i := idx[min(n, len(idx)-1)]
				n++
				return standIn(i, kind)
			})
		}
	}
	return text
}

// withAttachments turns the stand-ins of a plan planned over
// withStandIns's text into {{aN}} references, and gives a step that reads
// an attachment's type but works on none the first attachment it can read.
func (p *Planner) withAttachments(plan task.Plan, atts []task.Attachment) task.Plan {
	var pairs []string
	for i, a := range atts {
		pairs = append(pairs, standIn(i, task.KindOfMIME(a.MIME)), "{{"+task.AttachmentRef(i)+"}}")
	}
	repl := strings.NewReplacer(pairs...)
	for k := range plan.Tasks {
		s := &plan.Tasks[k]
		s.Input = repl.Replace(s.Input)
		for key, v := range s.Args {
			if key == "file" && strings.HasPrefix(v, "attachment") {
				delete(s.Args, key)
				continue
			}
			s.Args[key] = repl.Replace(v)
		}
		if len(s.Args) == 0 {
			s.Args = nil
		}
		if len(s.Deps) == 0 && !strings.Contains(s.Input, "{{a") {
			if i := p.readableAttachment(s.Capability, atts); i >= 0 {
				s.Input = strings.TrimSpace("{{" + task.AttachmentRef(i) + "}} " + s.Input)
			}
		}
	}
	return plan
}

// readableAttachment returns the first attachment a capability reads,
// or -1.
func (p *Planner) readableAttachment(capability string, atts []task.Attachment) int {
	for _, c := range p.ix.caps {
		if c.Name != capability {
			continue
		}
		for i, a := range atts {
			if slices.Contains(c.Inputs, task.KindOfMIME(a.MIME)) {
				return i
			}
		}
	}
	return -1
}
