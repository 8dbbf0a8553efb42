// Package ui renders the dashboard a node serves on --ui-addr: the
// cluster's members, its jobs, and one job's task tree, event timeline and
// invocation logs. It only renders what it is given (package node gathers
// the data and authenticates the user); the templates, the stylesheet and
// the small script that refreshes a page in place are embedded, so the
// dashboard needs nothing from the internet.
package ui

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"time"
)

//go:embed templates/*.html static/*
var files embed.FS

// Member is one row of the members table.
type Member struct {
	ID, APIAddr, Role, Version string
	Voter, Drained             bool
	Applied                    uint64
	// Lag: entries this member has applied fewer than the leader has
	// committed (-1: unknown).
	Lag         int64
	LastContact string
}

// Job is one row of the jobs table (and the head of a job's page).
type Job struct {
	ID                           uint64
	Name, State, Owner, Age      string
	Done, Failed, Running, Total uint64
	// Percent of tasks done or failed.
	Percent int
	Error   string
}

// Task is one node of a job's task tree.
type Task struct {
	ID, Parent         uint64
	Name, State, Error string
	Epoch, Checkpoints uint64
	Launches           uint32
	Children           []*Task
}

// Event is one line of a job's timeline.
type Event struct {
	Seq        uint64
	At, Offset string
	Text, Kind string
}

// Log is one invocation this node launched.
type Log struct {
	Task, Epoch               uint64
	Outcome, Message, Started string
	DurationMs                int64
	Cold                      bool
}

// Page is what every page shows in its header.
type Page struct {
	Node, User, Leader string
	Term               uint64
}

// Overview is the front page.
type Overview struct {
	Page
	Members []Member
	Jobs    []Job
}

// JobPage is one job's page.
type JobPage struct {
	Page
	Job    Job
	Result string
	Roots  []*Task
	Events []Event
	// Dropped: older events the bounded history no longer holds.
	Dropped uint64
	Logs    []Log
}

// Login is the token form.
type Login struct {
	Page
	Error string
}

var pages = map[string]*template.Template{}

func init() {
	funcs := template.FuncMap{}
	for _, name := range []string{"overview", "job", "login"} {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
	}
}

// Render writes page name with data: the whole page, or with partial only
// its live part (what the page's script fetches to refresh itself).
func Render(w io.Writer, name string, partial bool, data any) error {
	t, ok := pages[name]
	if !ok {
		return fmt.Errorf("ui: no page %q", name)
	}
	if partial {
		return t.ExecuteTemplate(w, "live", data)
	}
	return t.ExecuteTemplate(w, "layout.html", data)
}

// Static serves the stylesheet and the script under /static/.
func Static() http.Handler {
	sub, _ := fs.Sub(files, "static")
	return http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
}

// Age renders how long ago a unix-ms time was ("-" for none).
func Age(now time.Time, unixMs int64) string {
	if unixMs <= 0 {
		return "-"
	}
	d := now.Sub(time.UnixMilli(unixMs))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// Tree nests tasks under their parents (tasks whose parent is not listed
// are roots), keeping id order.
func Tree(tasks []*Task) []*Task {
	byID := map[uint64]*Task{}
	for _, t := range tasks {
		byID[t.ID] = t
	}
	var roots []*Task
	for _, t := range tasks {
		if p := byID[t.Parent]; p != nil && t.Parent != t.ID {
			p.Children = append(p.Children, t)
		} else {
			roots = append(roots, t)
		}
	}
	return roots
}
