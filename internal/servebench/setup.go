package servebench

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testkeys"
)

// Account is the seeded AWS account whose keys are revoked.
const Account = "111122223333"

// Token is the GitHub token the fake accepts.
const Token = "ghs_benchtoken0000111122"

// push is one delivery-to-be: a commit of repo pushed on top of before.
type push struct {
	repo, before, after string
	user                string // the key's IAM user; "" for a push without a key
}

// fixture is the fakes and the pushes they hold.
type fixture struct {
	gh   *githubfake.Server
	aws  *awsemu.Server
	sets map[string][]push // by phase
}

// phase describes the pushes of one phase: n pushes spread over repos
// repositories, a key in every keyEvery-th (1: every push).
type phase struct {
	name            string
	n, repos, every int
}

// newFixture builds a bare repository per phase and repository (one
// commit per push, chained, with fast-import), serves them from the
// GitHub fake under owner "bench", and seeds the emulator with one IAM
// user and service credential per key.
func newFixture(dir string, phases []phase) (*fixture, error) {
	gh, err := githubfake.New()
	if err != nil {
		return nil, err
	}
	gh.Token = Token
	f := &fixture{gh: gh, sets: map[string][]push{}}
	users := []*awsemu.User{{Name: "bks-admin"}}
	for _, ph := range phases {
		us, err := f.build(dir, ph)
		if err != nil {
			gh.Close()
			return nil, err
		}
		users = append(users, us...)
	}
	f.aws, err = awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: Account, Users: users}}}, awsemu.Options{})
	if err != nil {
		gh.Close()
		return nil, err
	}
	return f, nil
}

func (f *fixture) build(dir string, ph phase) ([]*awsemu.User, error) {
	var users []*awsemu.User
	per := (ph.n + ph.repos - 1) / ph.repos
	for r := range ph.repos {
		name := fmt.Sprintf("%s-%03d", ph.name, r)
		commits := []githubfake.Commit{{Message: "first", Files: map[string][]byte{"README.md": []byte("bench\n")}}}
		var mine []push
		for i := r * per; i < min((r+1)*per, ph.n); i++ {
			p := push{repo: "bench/" + name}
			body := fmt.Sprintf("push %d of %s\n", i, ph.name)
			if i%ph.every == 0 {
				p.user = fmt.Sprintf("BedrockAPIKey-%s%04d", ph.name[:1], i)
				key := testkeys.LongTerm(p.user, Account, testkeys.Secret(uint64(len(ph.name))*100000+uint64(i)))
				body = "AWS_BEARER_TOKEN_BEDROCK=" + key + "\n"
				users = append(users, &awsemu.User{Name: p.user, ServiceCredentials: []*awsemu.ServiceCred{{Secret: key}}})
			}
			commits = append(commits, githubfake.Commit{Message: fmt.Sprint("push ", i),
				Files: map[string][]byte{fmt.Sprintf("conf/%d.env", i): []byte(body)}})
			mine = append(mine, p)
		}
		bare := filepath.Join(dir, name+".git")
		if err := githubfake.BuildRepo(bare, commits); err != nil {
			return nil, err
		}
		ids, err := revList(bare)
		if err != nil {
			return nil, err
		}
		if len(ids) != len(mine)+1 {
			return nil, fmt.Errorf("%s: %d commits, want %d", bare, len(ids), len(mine)+1)
		}
		for i := range mine {
			mine[i].before, mine[i].after = ids[i], ids[i+1]
		}
		f.gh.Add(&githubfake.Repo{Owner: "bench", Name: name, Dir: bare})
		f.sets[ph.name] = append(f.sets[ph.name], mine...)
	}
	return users, nil
}

// Close stops the fakes.
func (f *fixture) Close() {
	f.gh.Close()
	f.aws.Close()
}

// writeConfig writes the bks configuration: the account, revoke = true.
func writeConfig(path string) error {
	return os.WriteFile(path, []byte("[[accounts]]\nid = \""+Account+"\"\nrevoke = true\nregions = [\"us-east-1\"]\n"), 0o600)
}
