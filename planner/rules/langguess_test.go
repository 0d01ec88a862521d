package rules

import "testing"

func TestWrittenIn(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"Bonjour tout le monde, merci pour votre visite.", "fr"},
		{"Mein Paket ist seit drei Wochen nicht angekommen.", "de"},
		{"Hello, how are you?", "en"},
		{"Buenos días, ¿cómo estás?", "es"},
		{"你好，世界", "zh"},
		{"こんにちは", "ja"},
		{"안녕하세요", "ko"},
		{"Привет, мир", "ru"},
		{"Xyzzy", ""},
		{"de", ""}, // a word several languages share says nothing
	} {
		if got := writtenIn(c.text); got != c.want {
			t.Errorf("writtenIn(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

// FuzzWrittenIn: any text, valid UTF-8 or not, gets a known code or none.
func FuzzWrittenIn(f *testing.F) {
	for _, s := range []string{"Bonjour tout le monde", "你好", "", "\xff\xfe", "the the le le"} {
		f.Add(s)
	}
	known := map[string]bool{"": true}
	for _, codes := range commonWords {
		for _, c := range codes {
			known[c] = true
		}
	}
	for _, c := range []string{"ja", "ko", "zh", "ru", "ar", "el", "he", "th", "hi"} {
		known[c] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := writtenIn(s); !known[got] {
			t.Errorf("writtenIn(%q) = %q, no language code it knows", s, got)
		}
	})
}
