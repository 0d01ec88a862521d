package openaitest

import "strconv"

// logprob is the scripted log probability of a token: made up, but the
// same for the same token, so tests can compare what clients got.
func logprob(token string) float64 { return -float64(len(token)%7+1) / 8 }

// appendTokenLogprob appends one entry of chat's logprobs.content: the
// token, its log probability, its UTF-8 bytes and top alternatives (the
// token itself, then variants of it), as OpenAI's answers have them.
func appendTokenLogprob(b []byte, token string, top int) []byte {
	b = appendTokenHead(b, token)
	b = append(b, `,"top_logprobs":[`...)
	for i := range top {
		if i > 0 {
			b = append(b, ',')
		}
		alt := token
		if i > 0 {
			alt = token + strconv.Itoa(i)
		}
		b = appendTokenHead(b, alt)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendTokenHead appends {"token", "logprob", "bytes" of one token.
func appendTokenHead(b []byte, token string) []byte {
	b = append(b, `{"token":`...)
	b = appendString(b, token)
	b = append(b, `,"logprob":`...)
	b = strconv.AppendFloat(b, logprob(token), 'g', -1, 64)
	b = append(b, `,"bytes":[`...)
	for i := 0; i < len(token); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(token[i]), 10)
	}
	return append(b, ']')
}

// appendChatLogprobs appends the value of a chat choice's logprobs: null
// unless the request asked for them.
func appendChatLogprobs(b []byte, a *answer, tokens []string) []byte {
	if !a.logprobs {
		return append(b, "null"...)
	}
	b = append(b, `{"content":[`...)
	for i, t := range tokens {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTokenLogprob(b, t, a.topLogprobs)
	}
	return append(b, `],"refusal":null}`...)
}

// appendTextLogprobs appends the value of a legacy completion choice's
// logprobs: null unless asked for, else its tokens, their log
// probabilities, the top ones and the tokens' offsets in the text.
func appendTextLogprobs(b []byte, a *answer, tokens []string, offset int) []byte {
	if !a.logprobs {
		return append(b, "null"...)
	}
	b = append(b, `{"tokens":[`...)
	for i, t := range tokens {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t)
	}
	b = append(b, `],"token_logprobs":[`...)
	for i, t := range tokens {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, logprob(t), 'g', -1, 64)
	}
	b = append(b, `],"top_logprobs":[`...)
	for i, t := range tokens {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendString(b, t)
		b = append(b, ':')
		b = strconv.AppendFloat(b, logprob(t), 'g', -1, 64)
		b = append(b, '}')
	}
	b = append(b, `],"text_offset":[`...)
	for i, t := range tokens {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(offset), 10)
		offset += len(t)
	}
	return append(b, "]}"...)
}
