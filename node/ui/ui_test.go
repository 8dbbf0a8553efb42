package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestTreeNestsTasksUnderTheirParents(t *testing.T) {
	tasks := []*Task{{ID: 1}, {ID: 2, Parent: 1}, {ID: 3, Parent: 2}, {ID: 4, Parent: 1}, {ID: 9, Parent: 7}}
	roots := Tree(tasks)
	if len(roots) != 2 || roots[0].ID != 1 || roots[1].ID != 9 {
		t.Fatalf("roots %+v: want t1 and t9 (whose parent is not listed)", roots)
	}
	if c := roots[0].Children; len(c) != 2 || c[0].ID != 2 || c[1].ID != 4 || len(c[0].Children) != 1 || c[0].Children[0].ID != 3 {
		t.Fatalf("t1's subtree is wrong: %+v", c)
	}
}

func TestAge(t *testing.T) {
	now := time.UnixMilli(10_000_000)
	for ms, want := range map[int64]string{0: "-", 10_000_000 - 5_000: "5s", 10_000_000 - 125_000: "2m05s", 10_000_000 - 3_720_000: "1h02m"} {
		if got := Age(now, ms); got != want {
			t.Errorf("Age(%d) = %q, want %q", ms, got, want)
		}
	}
}

// A page renders whole, or only its live part for the in-place refresh;
// what it shows is escaped.
func TestRenderWholeAndPartial(t *testing.T) {
	data := Overview{Page: Page{Node: "n1", Leader: "n2", User: `reader "w"`},
		Jobs: []Job{{ID: 3, Name: "<script>x</script>", State: "running", Done: 1, Total: 4, Percent: 25}}}
	var whole, part bytes.Buffer
	if err := Render(&whole, "overview", false, data); err != nil {
		t.Fatal(err)
	}
	if err := Render(&part, "overview", true, data); err != nil {
		t.Fatal(err)
	}
	w, p := whole.String(), part.String()
	if !strings.Contains(w, "<html") || !strings.Contains(w, "/static/live.js") || strings.Contains(p, "<html") {
		t.Fatal("the whole page or the partial one is not what it should be")
	}
	if !strings.Contains(p, `data-done="1" data-total="4"`) || !strings.Contains(p, "&lt;script&gt;") || strings.Contains(p, "<script>x") {
		t.Fatalf("the jobs table:\n%s", p)
	}
}
