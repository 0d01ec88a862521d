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

func helpdeskPlanner(t testing.TB) *Planner {
	t.Helper()
	p, err := New(loadTestCatalog(t, filepath.Join("..", "testdata", "catalogs", "helpdesk.yaml")), WithoutFallback())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFindLookups reads the lookup tools of a catalog from what it says:
// found "by ticket number", "by email address or customer id"; a refund
// "for an order number" takes the number as it is and looks nothing up.
func TestFindLookups(t *testing.T) {
	p := helpdeskPlanner(t)
	got := map[string][]string{}
	for _, tl := range p.lookups.tools {
		got[p.ix.caps[tl.capability].Name] = tl.kinds
	}
	want := map[string][]string{"ticket-lookup": {"ticket"}, "customer-profile": {"customer"}}
	if len(got) != len(want) || !slices.Equal(got["ticket-lookup"], want["ticket-lookup"]) || !slices.Equal(got["customer-profile"], want["customer-profile"]) {
		t.Errorf("lookup tools %v, want %v", got, want)
	}
	for i, c := range p.ix.caps {
		if c.Name == "refund-issue" && !slices.Contains(p.lookups.takes[i], "order") {
			t.Errorf("refund-issue takes %v, want the order number", p.lookups.takes[i])
		}
	}
	if b := newTestPlanner(t); len(b.lookups.tools) != 0 {
		t.Errorf("the built-in catalog has lookups %v, want none", b.lookups.tools)
	}
}

// TestLookupFirst: a step that needs the text of a thing named by its
// identifier gets the lookup first; one that takes the identifier, or
// is the lookup, or follows it, does not.
func TestLookupFirst(t *testing.T) {
	p := helpdeskPlanner(t)
	for _, c := range []struct{ input, want, lookupInput string }{
		{"Summarize ticket 3003", "ticket-lookup; ticket-summary<1", "ticket 3003"},
		{"Escalate ticket #77 to the on-call engineer", "ticket-lookup; escalate<1", "ticket #77"},
		{"How angry is customer id 5521? Draft a reply to them.", "customer-profile; sentiment-check<1; reply-draft<2", "customer id 5521"},
		{"Draft a reply to ticket no. 1200, then translate the reply into French.", "ticket-lookup; reply-draft<1; translate-message<2", "ticket no. 1200"},
		{"Search the knowledge base for password resets and draft a reply to ticket 3150 with what you find.", "kb-search; ticket-lookup; reply-draft<1,2", "ticket 3150"},
		{"Pull up ticket 4821 and summarize the thread.", "ticket-lookup; ticket-summary<1", ""},
		{"What plan is customer 88172 on?", "customer-profile", ""},
		{"Refund order 55512.", "refund-issue", ""},
		{"Summarize the ticket thread below: 'Printer broken since Monday.'", "ticket-summary", ""},
	} {
		plan, err := p.Plan(context.Background(), task.Request{Input: c.input})
		if err != nil {
			t.Fatalf("%q: %v", c.input, err)
		}
		if got := planShape(plan); got != c.want {
			t.Errorf("%q planned %q, want %q", c.input, got, c.want)
			continue
		}
		if c.lookupInput == "" {
			continue
		}
		if k := slices.IndexFunc(plan.Tasks, func(s task.Subtask) bool {
			return s.Capability == "ticket-lookup" || s.Capability == "customer-profile"
		}); plan.Tasks[k].Input != c.lookupInput {
			t.Errorf("%q: the lookup reads %q, want %q", c.input, plan.Tasks[k].Input, c.lookupInput)
		}
	}
}

// FuzzPlanLookups plans arbitrary text over a catalog with lookups: never
// a panic, always a valid plan or a request, plan or not-found error.
func FuzzPlanLookups(f *testing.F) {
	for _, s := range []string{
		"Summarize ticket 3003", "order #", "ticket number #", "customer id 12 and customer id 13, then tickets 4",
		"ticket ticket ticket 1", "ticket number A-77-", "order no. 5 and ticket #-9", "Summarize ticket 9" + strings.Repeat(" and ticket 9", 40),
	} {
		f.Add(s)
	}
	p := helpdeskPlanner(f)
	known := loadTestCatalog(f, filepath.Join("..", "testdata", "catalogs", "helpdesk.yaml")).Has
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

// TestLookupFirstOtherCatalog: the lookups come from what any catalog
// says, not from the help desk's words: an order found "by order ID",
// which gives a document.
func TestLookupFirstOtherCatalog(t *testing.T) {
	cat, err := task.NewCatalog(
		task.Capability{Name: "order-fetch", Description: "Retrieve an order, its items and shipping status by order ID.", Inputs: []string{"text"}, Outputs: []string{"document"}},
		task.Capability{Name: "refund", Description: "Issue a refund for an order number.", Inputs: []string{"text"}, Outputs: []string{"text"}},
		task.Capability{Name: "summarizer", Description: "Summarize a text or a document in a few lines.", Inputs: []string{"text", "document"}, Outputs: []string{"text"}},
		task.Capability{Name: "translator", Description: "Translate a text into another language.", Inputs: []string{"text"}, Outputs: []string{"text"}},
		task.Capability{Name: "speech", Description: "Convert text to speech.", Inputs: []string{"text"}, Outputs: []string{"audio"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cat, WithoutFallback())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ input, want string }{
		{"Summarize order #123.", "order-fetch; summarizer<1"},
		{"Summarize order number A-77 and read it aloud in Spanish", "order-fetch; summarizer<1; translator<2; speech<3"},
		{"Refund order 5512", "refund"},
		{"What is the shipping status of order 991?", "order-fetch"},
		{"Summarize the order history below: 'Two chairs, one table.'", "summarizer"},
	} {
		plan, err := p.Plan(context.Background(), task.Request{Input: c.input})
		if err != nil {
			t.Fatalf("%q: %v", c.input, err)
		}
		if got := planShape(plan); got != c.want {
			t.Errorf("%q planned %q, want %q", c.input, got, c.want)
		}
	}
}
