package serve

import (
	"context"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/triage"
)

// CheckName is the name of the check run the service reports.
const CheckName = "bks"

// commentMarker starts the service's pull request comment, which is how a
// later delivery (or the same one run again) finds it to update it.
const commentMarker = "<!-- bks:serve -->"

// maxAnnotations is GitHub's limit of annotations per check run request
// (docs.github.com/en/rest/checks/runs#update-a-check-run: "maximum of 50").
const maxAnnotations = 50

// Reporter reports a scan back to GitHub: one check run named CheckName on
// the head commit, its annotations the findings (path, line, the redacted
// key: never the key), and on a pull request one comment, updated by each
// later scan rather than repeated.
//
// Both are idempotent through what GitHub holds, not only through the
// store: a job run again after a crash between the call and its record
// finds the run (by head and name) and the comment (by its marker) and
// updates them; annotations already on the run are not sent again (an
// update appends the annotations it carries).
type Reporter struct {
	Client *gh.Client
}

// report writes the check run on tg.head and, for a pull request, the
// comment.
func (r *Reporter) report(ctx context.Context, tg target, fs []findings.Finding, incs []*triage.Incident) error {
	owner, name, _ := strings.Cut(tg.repo, "/")
	if err := r.checkRun(ctx, owner, name, tg.head, fs); err != nil {
		return fmt.Errorf("check run on %s@%s: %w", tg.repo, tg.head, err)
	}
	if tg.pr > 0 {
		if err := r.comment(ctx, owner, name, tg.pr, fs, incs); err != nil {
			return fmt.Errorf("comment on %s#%d: %w", tg.repo, tg.pr, err)
		}
	}
	return nil
}

// checkRun creates the run, or updates the one on head, with the
// annotations it lacks.
func (r *Reporter) checkRun(ctx context.Context, owner, name, head string, fs []findings.Finding) error {
	runs, _, err := r.Client.Checks.ListCheckRunsForRef(ctx, owner, name, head,
		&gh.ListCheckRunsOptions{CheckName: gh.String(CheckName)})
	if err != nil {
		return err
	}
	var run *gh.CheckRun
	have := map[string]bool{}
	if len(runs.CheckRuns) > 0 {
		run = runs.CheckRuns[0]
		for page := 1; page > 0; {
			as, resp, err := r.Client.Checks.ListCheckRunAnnotations(ctx, owner, name, run.GetID(), &gh.ListOptions{Page: page, PerPage: 100})
			if err != nil {
				return err
			}
			for _, a := range as {
				have[annotationKey(a)] = true
			}
			page = resp.NextPage
		}
	}
	var todo []*gh.CheckRunAnnotation
	for _, a := range annotations(fs) {
		if k := annotationKey(a); !have[k] {
			have[k] = true
			todo = append(todo, a)
		}
	}
	conclusion, title := "success", "No Bedrock API key found"
	if len(fs) > 0 {
		conclusion, title = "failure", fmt.Sprintf("%d Bedrock API key finding(s)", len(fs))
	}
	output := func(batch []*gh.CheckRunAnnotation) *gh.CheckRunOutput {
		return &gh.CheckRunOutput{Title: gh.String(title), Summary: gh.String(checkSummary(fs)), Annotations: batch}
	}
	for first := true; first || len(todo) > 0; first = false {
		batch := todo[:min(len(todo), maxAnnotations)]
		todo = todo[len(batch):]
		if run == nil {
			run, _, err = r.Client.Checks.CreateCheckRun(ctx, owner, name, gh.CreateCheckRunOptions{
				Name: CheckName, HeadSHA: head, ExternalID: gh.String(head), Status: gh.String("completed"),
				Conclusion: gh.String(conclusion), CompletedAt: &gh.Timestamp{}, Output: output(batch),
			})
		} else {
			run, _, err = r.Client.Checks.UpdateCheckRun(ctx, owner, name, run.GetID(), gh.UpdateCheckRunOptions{
				Name: CheckName, Status: gh.String("completed"), Conclusion: gh.String(conclusion), Output: output(batch),
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// annotations are fs as check run annotations: where, and the redacted
// key with its fingerprint.
func annotations(fs []findings.Finding) []*gh.CheckRunAnnotation {
	var out []*gh.CheckRunAnnotation
	for _, f := range fs {
		path, line := f.Path, max(f.Line, 1)
		if path == "" { // a commit message: GitHub needs a path
			path, line = ".git/COMMIT_EDITMSG", 1
		}
		out = append(out, &gh.CheckRunAnnotation{
			Path: gh.String(path), StartLine: gh.Int(line), EndLine: gh.Int(line),
			AnnotationLevel: gh.String("failure"),
			Title:           gh.String("Leaked Bedrock API key"),
			Message: gh.String(fmt.Sprintf("%s (fingerprint %s) in commit %s. Revoke it and remove it from the history.",
				f.Redacted, f.Fingerprint, shortSHA(f.Commit))),
		})
	}
	return out
}

func annotationKey(a *gh.CheckRunAnnotation) string {
	return fmt.Sprintf("%s\x00%d\x00%s", a.GetPath(), a.GetStartLine(), a.GetMessage())
}

func shortSHA(s string) string { return s[:min(len(s), 12)] }

// checkSummary is the run's summary in Markdown.
func checkSummary(fs []findings.Finding) string {
	if len(fs) == 0 {
		return "bks scanned the pushed commits and found no Bedrock API key."
	}
	var b strings.Builder
	b.WriteString("bks found these keys in the pushed commits (redacted):\n\n| Key | Fingerprint | Where |\n|---|---|---|\n")
	for _, f := range fs {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", f.Redacted, f.Fingerprint, mdCell(fmt.Sprintf("%s:%d @ %s", f.Path, f.Line, shortSHA(f.Commit))))
	}
	return b.String()
}

// mdCell keeps repository content (a path) from breaking out of a table
// cell or the Markdown around it.
func mdCell(s string) string {
	r := strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "`", "'", "<", "&lt;", ">", "&gt;")
	return "`" + r.Replace(s) + "`"
}

// comment creates or updates the service's comment on pull request n.
// Nothing is posted while a pull request has no finding and no comment.
func (r *Reporter) comment(ctx context.Context, owner, name string, n int, fs []findings.Finding, incs []*triage.Incident) error {
	var mine *gh.IssueComment
	for page := 1; page > 0 && mine == nil; {
		cs, resp, err := r.Client.Issues.ListComments(ctx, owner, name, n, &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{Page: page, PerPage: 100}})
		if err != nil {
			return err
		}
		for _, c := range cs {
			if strings.HasPrefix(c.GetBody(), commentMarker) {
				mine = c
				break
			}
		}
		page = resp.NextPage
	}
	if mine == nil && len(fs) == 0 {
		return nil
	}
	body := &gh.IssueComment{Body: gh.String(commentBody(fs, incs))}
	var err error
	if mine == nil {
		_, _, err = r.Client.Issues.CreateComment(ctx, owner, name, n, body)
	} else if mine.GetBody() != body.GetBody() {
		_, _, err = r.Client.Issues.EditComment(ctx, owner, name, mine.GetID(), body)
	}
	return err
}

// commentBody is the pull request comment: the keys found (redacted) and
// what was done about each.
func commentBody(fs []findings.Finding, incs []*triage.Incident) string {
	var b strings.Builder
	b.WriteString(commentMarker + "\n")
	if len(fs) == 0 {
		b.WriteString("**bks**: no Bedrock API key in the latest commits of this pull request.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "**bks** found %d Bedrock API key finding(s) in this pull request. Remove them from the branch's history; a key that was pushed must be revoked.\n\n", len(fs))
	b.WriteString(checkSummary(fs)[strings.Index(checkSummary(fs), "\n\n")+2:])
	for _, inc := range incs {
		for _, a := range inc.Actions {
			if a.Action == triage.ActionRevoke && (a.Outcome == triage.OutcomeDone || a.Outcome == triage.OutcomeUnchanged) {
				fmt.Fprintf(&b, "\n`%s` was revoked.\n", inc.Redacted)
			}
		}
	}
	return b.String()
}
