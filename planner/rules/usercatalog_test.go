package rules

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// TestStemToolNames checks that the names tools take from their work meet
// the words requests use for it.
func TestStemToolNames(t *testing.T) {
	for _, pair := range [][2]string{
		{"summarizer", "summarize"}, {"trimmer", "trim"}, {"captioner", "caption"}, {"classifier", "classify"},
		{"description", "describe"}, {"transcript", "transcribe"}, {"colorful", "color"}, {"colorizer", "colorize"},
		{"upscaler", "upscale"}, {"extractor", "extract"}, {"stopped", "stop"},
	} {
		if a, b := stem(pair[0]), stem(pair[1]); a != b {
			t.Errorf("stem(%q) = %q, stem(%q) = %q; want the same", pair[0], a, pair[1], b)
		}
	}
	for _, w := range []string{"order", "water", "mixer", "summer"} {
		if got := stem(w); len(got) < 4 {
			t.Errorf("stem(%q) = %q, cut too far", w, got)
		}
	}
}

func TestQualifierSpans(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"Summarize this in a cheerful tone", []string{"in a cheerful tone"}},
		{"Reply with a formal, friendly register please", []string{"with a formal, friendly register"}},
		{"How many apples are left?", []string{"How many"}},
		{"How many words does it have?", nil},   // a count of text is a step's work
		{"Paint it in a watercolor style", nil}, // a style is what some tools do
		{"用轻松的语气总结这段话", []string{"用轻松的语气"}},
		{"Translate it in the morning", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, s := range qualifierSpans(tt.text, latinWords(tt.text, 0, len(tt.text))) {
			got = append(got, tt.text[s[0]:s[1]])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("qualifierSpans(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestIsPremise(t *testing.T) {
	for text, want := range map[string]bool{
		"If a car uses 6 liters per 100 km": true, " given 3 apples": true, "如果一辆车每百公里用6升油": true,
		"Summarize it if you can": false, "Translate this": false,
	} {
		if got := isPremise(text, latinWords(text, 0, len(text))); got != want {
			t.Errorf("isPremise(%q) = %v, want %v", text, got, want)
		}
	}
}

// mediaPlanner plans over testdata/catalogs/media.yaml alone.
func mediaPlanner(t testing.TB) *Planner {
	t.Helper()
	p, err := New(loadTestCatalog(t, filepath.Join("..", "testdata", "catalogs", "media.yaml")), WithoutFallback())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDataKinds checks that the kinds of data steer both the choice of a
// capability and the dependencies, over a catalog of tools alone.
func TestDataKinds(t *testing.T) {
	p := mediaPlanner(t)
	tests := []struct {
		request string
		want    string // capabilities, and <k for the 1-based steps each depends on
	}{
		// "generate" names Music-Generator; "an image" asks for an image
		{"Generate an image of a fox in the snow, then describe it.", "Text-to-Image; Image-to-Text<1"},
		// nothing in the request is an image: no background removal
		{"Make my voice in podcast.mp3 deeper and remove the hiss.", "Voice-Changer; Audio-Noise-Reduction<1"},
		// "it" of data is the result that makes that data
		{"Compose calm piano music and mix it with the voice in narration.wav.", "Music-Generator; Audio-Mixer<1"},
		// a step that reads only images takes the image made before it
		{"Remove the background from product.png and crop it to a square.", "Background-Remover; Image-Cropper<1"},
	}
	for _, tt := range tests {
		plan, err := p.Plan(context.Background(), task.Request{Input: tt.request})
		if err != nil {
			t.Fatalf("planning %q: %v", tt.request, err)
		}
		if got := planShape(plan); got != tt.want {
			t.Errorf("%q planned as %q, want %q", tt.request, got, tt.want)
		}
	}
}

// planShape writes a plan as "a; b<1" (1-based dependencies).
func planShape(plan task.Plan) string {
	index := map[string]int{}
	var parts []string
	for i, s := range plan.Tasks {
		index[s.ID] = i + 1
		part := s.Capability
		for k, d := range s.Deps {
			sep := ","
			if k == 0 {
				sep = "<"
			}
			part += sep + strings.TrimPrefix(d, "t")
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

// TestWithoutFallback checks a catalog with no fallback: what matches
// nothing is refused, and a piece between sequencing words that matches
// nothing is no step.
func TestWithoutFallback(t *testing.T) {
	p := mediaPlanner(t)
	_, err := p.Plan(context.Background(), task.Request{Input: "hello there"})
	if task.AsError(err).Code != task.CodeNotFound {
		t.Errorf("a request that matches nothing gave %v, want not_found", err)
	}
	plan, err := p.Plan(context.Background(), task.Request{Input: "Transcribe meeting.wav, then have a nice day, then translate it into French"})
	if err != nil {
		t.Fatal(err)
	}
	if got := planShape(plan); got != "Speech-to-Text; Text-Translator<1" {
		t.Errorf("planned %q, want the two steps the catalog has and nothing for the greeting", got)
	}
	if _, err := New(loadTestCatalog(t, filepath.Join("..", "testdata", "catalogs", "media.yaml"))); task.AsError(err).Code != task.CodeNotFound {
		t.Errorf("the default fallback, missing, gave %v; want not_found unless WithoutFallback", err)
	}
}

// FuzzPlanUserCatalog plans arbitrary text over a catalog of tools with
// no fallback: the planner must never panic, and must return a valid plan
// or a request, plan or not-found error.
func FuzzPlanUserCatalog(f *testing.F) {
	for _, s := range []string{
		"Generate an image of a fox, then describe it.", "If a car uses 6 liters per 100 km, how many liters",
		"Summarize this in a cheerful tone: 'x'", "in a in a tone with with", "how many how much",
		"Extract the audio from a.mp4, remove the noise and transcribe it.", "如果用轻松的语气", "an an image a video into",
	} {
		f.Add(s)
	}
	p := mediaPlanner(f)
	known := loadTestCatalog(f, filepath.Join("..", "testdata", "catalogs", "media.yaml")).Has
	f.Fuzz(func(t *testing.T, input string) {
		plan, err := p.Plan(context.Background(), task.Request{Input: input})
		if err != nil {
			var te *task.Error
			if !errors.As(err, &te) || te.Code != task.CodeInvalidRequest && te.Code != task.CodeInvalidPlan && te.Code != task.CodeNotFound {
				t.Fatalf("planning %q: %v, want a request, plan or not-found error", input, err)
			}
			return
		}
		if err := plan.Validate(task.DefaultLimits, known); err != nil {
			t.Fatalf("planning %q gave an invalid plan: %v", input, err)
		}
	})
}

// TestSplitThousands checks that a thousands separator does not cut a
// request in two: "18% of 2,450" is one number, "1, 2" a list.
func TestSplitThousands(t *testing.T) {
	for text, want := range map[string]int{
		"Calculate 18% of 2,450 and then translate the result": 2,
		"Add 1,000,000 to 5": 1,
		"Rate 1, 2 and 3":    3,
		"Sort 12,34 please":  2,
	} {
		if got := len(split(text)); got != want {
			t.Errorf("split(%q) gave %d fragments, want %d", text, got, want)
		}
	}
}

// TestConvertEachFile checks that a step with several files it cannot
// read gets one conversion per file, and takes all of them.
func TestConvertEachFile(t *testing.T) {
	p, err := New(loadTestCatalog(t, filepath.Join("..", "testdata", "catalogs", "datateam.yaml")), WithoutFallback())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(context.Background(), task.Request{Input: "Join customers.csv with orders.csv on customer id."})
	if err != nil {
		t.Fatal(err)
	}
	if got := planShape(plan); got != "csv-load; csv-load; join-tables<1,2" {
		t.Errorf("planned %q, want a load per file and the join of both", got)
	}
	if plan.Tasks[0].Args["file"] != "customers.csv" || plan.Tasks[1].Args["file"] != "orders.csv" {
		t.Errorf("the loads read %q and %q, want customers.csv and orders.csv", plan.Tasks[0].Args["file"], plan.Tasks[1].Args["file"])
	}
}

// TestLargeRequestsUserCatalog plans requests near the size limit over a
// catalog of tools with no fallback: many steps on many files, many kind
// words, many premises. Each must come back with a plan or a request,
// plan or not-found error (TestLargeRequests times the built-in shapes).
func TestLargeRequestsUserCatalog(t *testing.T) {
	p := mediaPlanner(t)
	const size = 200 << 10
	for name, unit := range map[string]string{
		"files":    "trim a.wav and mix it with b.wav, then ",
		"kinds":    "an image into a video the audio ",
		"premises": "if a picture, ",
		"manners":  "describe it in a cheerful tone, ",
	} {
		input := strings.Repeat(unit, size/len(unit))
		_, err := p.Plan(context.Background(), task.Request{Input: input})
		if err != nil {
			if c := task.AsError(err).Code; c != task.CodeInvalidRequest && c != task.CodeInvalidPlan && c != task.CodeNotFound {
				t.Errorf("%s: %v, want a plan or a request, plan or not-found error", name, err)
			}
		}
	}
}
