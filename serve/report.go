package serve

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/serve/store"
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

// Reporter reports a scan back to GitHub: as a GitHub App, one check run
// named CheckName on the head commit, its annotations the findings (path,
// line, the redacted key: never the key); with a personal access token,
// which GitHub does not let write check runs, a commit status of context
// StatusContext instead. On a pull request, one comment, updated by each
// later scan rather than repeated.
//
// Both are idempotent through what GitHub holds, not only through the
// store: a job run again after a crash between the call and its record
// finds the run (by head, name and the App's id) and the comment and
// updates them; annotations already on the run are not sent again (an
// update appends the annotations it carries).
//
// Only what the service wrote is ever updated: a check run of another App
// with the same name is not, nor a comment that carries the service's
// marker but was written by someone else (a pull request's author can post
// anything). The service's comment is the one whose id the store recorded
// when it was posted, else one written by the service's own login (the
// App's bot, or the token's user).
type Reporter struct {
	Auth *GitHubAuth
	// TargetURL is the link of the commit status ("": none).
	TargetURL string
	// Store records the comment posted (the service's own store: New sets
	// it).
	Store *store.Store
}

// StatusContext is the context of the commit status the service sets
// when it cannot write check runs.
const StatusContext = "bks"

// report writes the check run (or the status) on tg.head and, for a pull
// request, the comment. An installation token GitHub refuses before its
// hour (revoked) is replaced once: each step is idempotent.
func (r *Reporter) report(ctx context.Context, tg target, fs []findings.Finding, incs []*triage.Incident) error {
	c, tok, err := r.Auth.client(ctx, tg.installation)
	if err != nil {
		return err
	}
	err = r.reportWith(ctx, c, tg, fs, incs)
	if refused(err) && r.Auth.forget(tg.installation, tok) {
		if c, _, err = r.Auth.client(ctx, tg.installation); err != nil {
			return err
		}
		err = r.reportWith(ctx, c, tg, fs, incs)
	}
	return err
}

// reportWith reports with the client c.
func (r *Reporter) reportWith(ctx context.Context, c *gh.Client, tg target, fs []findings.Finding, incs []*triage.Incident) error {
	owner, name, _ := strings.Cut(tg.repo, "/")
	var err error
	if r.Auth.IsApp() {
		err = r.checkRun(ctx, c, owner, name, tg.head, fs)
	} else {
		err = r.status(ctx, c, owner, name, tg.head, fs)
	}
	if err != nil {
		return fmt.Errorf("check on %s@%s: %w", tg.repo, tg.head, err)
	}
	if tg.pr > 0 {
		if err := r.comment(ctx, c, owner, name, tg.pr, fs, incs); err != nil {
			return fmt.Errorf("comment on %s#%d: %w", tg.repo, tg.pr, err)
		}
	}
	return nil
}

// ownRun is the service's check run named CheckName on head, if any:
// listed with the App's id (app_id), and checked again on the answer.
func (r *Reporter) ownRun(ctx context.Context, c *gh.Client, owner, name, head string) (*gh.CheckRun, error) {
	runs, _, err := c.Checks.ListCheckRunsForRef(ctx, owner, name, head,
		&gh.ListCheckRunsOptions{CheckName: gh.String(CheckName), AppID: gh.Int64(r.Auth.AppID)})
	if err != nil {
		return nil, err
	}
	for _, run := range runs.CheckRuns {
		if run.GetName() == CheckName && run.GetApp().GetID() == r.Auth.AppID {
			return run, nil
		}
	}
	return nil, nil
}

// checkRun creates the run, or updates the one on head, with the
// annotations it lacks.
func (r *Reporter) checkRun(ctx context.Context, c *gh.Client, owner, name, head string, fs []findings.Finding) error {
	run, err := r.ownRun(ctx, c, owner, name, head)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	if run != nil {
		for page := 1; page > 0; {
			as, resp, err := c.Checks.ListCheckRunAnnotations(ctx, owner, name, run.GetID(), &gh.ListOptions{Page: page, PerPage: 100})
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
	conclusion, title := verdict(fs)
	output := func(batch []*gh.CheckRunAnnotation) *gh.CheckRunOutput {
		return &gh.CheckRunOutput{Title: gh.String(title), Summary: gh.String(checkSummary(fs)), Annotations: batch}
	}
	for first := true; first || len(todo) > 0; first = false {
		batch := todo[:min(len(todo), maxAnnotations)]
		todo = todo[len(batch):]
		if run == nil {
			run, _, err = c.Checks.CreateCheckRun(ctx, owner, name, gh.CreateCheckRunOptions{
				Name: CheckName, HeadSHA: head, ExternalID: gh.String(head), Status: gh.String("completed"),
				Conclusion: gh.String(conclusion), CompletedAt: &gh.Timestamp{}, Output: output(batch),
			})
		} else {
			run, _, err = c.Checks.UpdateCheckRun(ctx, owner, name, run.GetID(), gh.UpdateCheckRunOptions{
				Name: CheckName, Status: gh.String("completed"), Conclusion: gh.String(conclusion), Output: output(batch),
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// verdict is the conclusion (a check run's, a status's state) and the
// one-line description of fs.
func verdict(fs []findings.Finding) (conclusion, title string) {
	if len(fs) == 0 {
		return "success", "No Bedrock API key found"
	}
	return "failure", fmt.Sprintf("%d Bedrock API key finding(s)", len(fs))
}

// status sets the commit status StatusContext on head, unless the latest
// one of that context, set by the service, already says the same. Its
// description is verdict's (a count: no key, no path from the
// repository).
func (r *Reporter) status(ctx context.Context, c *gh.Client, owner, name, head string, fs []findings.Finding) error {
	state, desc := verdict(fs)
	login, err := r.Auth.Login(ctx)
	if err != nil {
		return err
	}
	sts, _, err := c.Repositories.ListStatuses(ctx, owner, name, head, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return err
	}
	for _, st := range sts { // newest first
		if st.GetContext() != StatusContext || st.GetCreator().GetLogin() != login {
			continue
		}
		if st.GetState() == state && st.GetDescription() == desc && st.GetTargetURL() == r.TargetURL {
			return nil
		}
		break
	}
	rs := &gh.RepoStatus{State: gh.String(state), Context: gh.String(StatusContext), Description: gh.String(desc)}
	if r.TargetURL != "" {
		rs.TargetURL = gh.String(r.TargetURL)
	}
	_, _, err = c.Repositories.CreateStatus(ctx, owner, name, head, rs)
	return err
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
func (r *Reporter) comment(ctx context.Context, c *gh.Client, owner, name string, n int, fs []findings.Finding, incs []*triage.Incident) error {
	mine, err := r.ownComment(ctx, c, owner, name, n)
	if err != nil {
		return err
	}
	if mine == nil && len(fs) == 0 {
		return nil
	}
	body := &gh.IssueComment{Body: gh.String(commentBody(fs, incs))}
	if mine != nil {
		if mine.GetBody() != body.GetBody() {
			_, _, err = c.Issues.EditComment(ctx, owner, name, mine.GetID(), body)
		}
		return err
	}
	posted, _, err := c.Issues.CreateComment(ctx, owner, name, n, body)
	if err != nil || r.Store == nil {
		return err
	}
	_, err = r.Store.RecordEffect(ctx, store.Effect{Key: commentKey(owner, name, n), Kind: "comment",
		Result: "done", Detail: strconv.FormatInt(posted.GetID(), 10)})
	return err
}

// commentKey names the service's comment on a pull request in the store.
func commentKey(owner, name string, n int) string {
	return fmt.Sprintf("comment/%s/%s#%d", strings.ToLower(owner), strings.ToLower(name), n)
}

// ownComment finds the service's comment on pull request n: the one whose
// id the store recorded, else the first with the marker written by the
// service's login. A comment with the marker by anyone else is not it.
func (r *Reporter) ownComment(ctx context.Context, c *gh.Client, owner, name string, n int) (*gh.IssueComment, error) {
	var recorded int64
	if r.Store != nil {
		e, ok, err := r.Store.GetEffect(ctx, commentKey(owner, name, n))
		if err != nil {
			return nil, err
		}
		if ok {
			recorded, _ = strconv.ParseInt(e.Detail, 10, 64)
		}
	}
	login, err := r.Auth.Login(ctx)
	if err != nil {
		return nil, err
	}
	var byLogin *gh.IssueComment
	for page := 1; page > 0; {
		cs, resp, err := c.Issues.ListComments(ctx, owner, name, n, &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{Page: page, PerPage: 100}})
		if err != nil {
			return nil, err
		}
		for _, cm := range cs {
			if recorded != 0 && cm.GetID() == recorded {
				return cm, nil
			}
			if byLogin == nil && strings.HasPrefix(cm.GetBody(), commentMarker) && cm.GetUser().GetLogin() == login {
				byLogin = cm
			}
		}
		page = resp.NextPage
	}
	return byLogin, nil
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
