package rules

import (
	"slices"
	"sort"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// Data kinds. A capability that reads only binary data (an image, audio,
// a video) can work only where the request has some: a file it names, or
// the result of an earlier step that makes it. A word that names a kind
// of data says which side of the work it is on: "an image", "into a
// video" ask for one to be made; "the image", "this recording" for one to
// be read.

// kindNouns map the stems of the words for binary data to its type.
var kindNouns = func() map[string]string {
	m := map[string]string{}
	for typ, words := range map[string][]string{
		task.TypeImage: {"image", "picture", "photo", "photograph", "pic", "illustration", "snapshot", "frame"},
		task.TypeAudio: {"audio", "recording", "soundtrack", "song", "music", "speech", "podcast"},
		task.TypeVideo: {"video", "clip", "movie", "film", "footage", "animation"},
	} {
		for _, w := range words {
			m[stem(w)] = typ
		}
	}
	return m
}()

// makers are the words before a kind noun that ask for it to be made.
var makers = setOf("a", "an", "into", "new", "another", "as")

// Bonus and penalty of the data kinds, as shares of the idf of a term only
// one capability has (made) or factors of a score (unreadable).
const (
	madeBonus         = 0.9
	unreadablePenalty = 0.35
)

// kinds is what a piece of a request says about binary data: the kinds it
// can read (the request's files and what earlier steps make), the kinds it
// asks to be made, and the kinds of its own files.
type kinds struct {
	readable, made, own []string
}

// kindsOf finds the kinds of data a fragment can read and asks for.
func (p *Planner) kindsOf(r *request, f fragment, prev []step) kinds {
	k := kinds{readable: r.readable}
	for _, s := range prev {
		for _, out := range p.ix.caps[s.capability].Outputs {
			if task.IsBinaryType(out) && !slices.Contains(k.readable, out) {
				k.readable = append(slices.Clip(k.readable), out)
			}
		}
	}
	for _, pl := range r.ownPayloads(f) {
		if !task.IsBinaryType(pl.typ) {
			continue
		}
		k.own = append(k.own, pl.typ)
		// a file of the clause's own reads as what one tool makes of it:
		// "transcribe lecture.mp4" goes through the video's audio
		for _, t := range p.ix.conversions[pl.typ] {
			if !slices.Contains(k.readable, t) {
				k.readable = append(slices.Clip(k.readable), t)
			}
		}
	}
	words := wordsIn(r.words, f.start, f.end)
	for i, w := range words {
		typ, ok := kindNouns[w.stem]
		if !ok || slices.Contains(k.made, typ) {
			continue
		}
		// "an image", "into a short video"; or "the audio" of clip.mp4
		maker := i > 0 && makers[words[i-1].text] || i > 1 && makers[words[i-2].text]
		if maker || len(k.own) > 0 && !slices.Contains(k.own, typ) {
			k.made = append(k.made, typ)
		}
	}
	return k
}

// weighReferred favours the capabilities that read the data an earlier
// step the fragment refers to makes: "describe the frame" taken from a
// video reads an image, not the video.
func (p *Planner) weighReferred(scores []float32, refs []ref, prev []step, k kinds) {
	for _, rf := range refs {
		j := -1
		switch rf.kind {
		case refStep:
			j = rf.step
		case refPrev, refWeak:
			j = len(prev) - 1
		}
		if j < 0 || j >= len(prev) {
			continue
		}
		for _, out := range p.ix.caps[prev[j].capability].Outputs {
			if !task.IsBinaryType(out) || slices.Contains(k.own, out) {
				continue
			}
			for i, c := range p.ix.caps {
				if scores[i] > 0 && hasType(c.Inputs, out) {
					scores[i] += typeBonus * p.ix.maxIDF
				}
			}
		}
		return
	}
}

// readableKinds returns the kinds of data a request has: those of its
// files, and those it names without asking for them ("this image", "the
// recording", "这张图片").
func readableKinds(r *request) []string {
	var out []string
	for _, pl := range r.payloads {
		if task.IsBinaryType(pl.typ) && !slices.Contains(out, pl.typ) {
			out = append(out, pl.typ)
		}
	}
	for i, w := range r.words {
		if typ, ok := kindNouns[w.stem]; ok && !(i > 0 && makers[r.words[i-1].text]) && !slices.Contains(out, typ) {
			out = append(out, typ)
		}
	}
	for _, t := range r.toks {
		if typ, ok := cjkKindNouns[t.term]; ok && t.kind == kindBigram && !slices.Contains(out, typ) {
			out = append(out, typ)
		}
	}
	return out
}

// cjkKindNouns are the Chinese words for binary data, as bigrams.
var cjkKindNouns = map[string]string{
	"图片": task.TypeImage, "照片": task.TypeImage, "截图": task.TypeImage, "图像": task.TypeImage, "相片": task.TypeImage,
	"录音": task.TypeAudio, "音频": task.TypeAudio, "语音": task.TypeAudio,
	"视频": task.TypeVideo, "影片": task.TypeVideo,
}

// weighKinds adjusts scores by the data kinds: a capability that makes a
// kind asked for gains, one that makes another kind loses most of its
// score, and so does one that reads only kinds the request cannot give
// it.
func (p *Planner) weighKinds(scores []float32, k kinds) {
	for i, c := range p.ix.caps {
		if scores[i] <= 0 || c.readsText && len(k.made) == 0 {
			continue
		}
		makes, other := false, false
		for _, out := range c.Outputs {
			makes = makes || slices.Contains(k.made, out) && !hasType(c.Inputs, out)
			other = other || task.IsBinaryType(out) && !slices.Contains(k.made, out)
		}
		switch {
		case makes:
			scores[i] += madeBonus * p.ix.maxIDF
		case other && len(k.made) > 0:
			scores[i] *= unreadablePenalty // it makes another kind than asked
		}
		if !c.readsText && !canRead(c.Capability, k.readable) {
			scores[i] *= unreadablePenalty
		}
	}
}

// canRead reports whether a capability reads text or one of the kinds.
func canRead(c task.Capability, readable []string) bool {
	for _, in := range c.Inputs {
		if !task.IsBinaryType(in) || slices.Contains(readable, in) {
			return true
		}
	}
	return false
}

// fileExt returns the extension of a file name the request names,
// lowercased, or "" for anything else.
func fileExt(name string) string {
	if _, ok := wholeFile(name); !ok {
		return ""
	}
	return strings.ToLower(name[strings.LastIndexByte(name, '.')+1:])
}

// madeAt reports whether the word at offset start follows a maker word
// ("an image", "a short video").
func (r *request) madeAt(start int) bool {
	i := sort.Search(len(r.words), func(i int) bool { return r.words[i].start >= start })
	return i > 0 && makers[r.words[i-1].text] || i > 1 && makers[r.words[i-2].text]
}
