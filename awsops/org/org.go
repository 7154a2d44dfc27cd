// Package org fans an operation out over the accounts of an AWS
// Organization: organizations:ListAccounts (ACTIVE accounts only), then
// sts:AssumeRole into each member account, accounts in parallel, one
// failing account never stopping the rest.
package org

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/awsops"
)

// DefaultRole is the role AWS Organizations creates in member accounts.
const DefaultRole = "OrganizationAccountAccessRole"

// Account is one member account.
type Account struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Status string `json:"status,omitempty"`
}

// API is the part of the Organizations client used here.
type API interface {
	ListAccounts(context.Context, *organizations.ListAccountsInput, ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
}

// ListAccounts returns the organization's ACTIVE accounts, sorted by id.
// Responses carry the deprecated Status and the newer State; State wins
// when present. A NextToken refused as stale starts the listing over
// (awsops.ListFromStart).
func ListAccounts(ctx context.Context, api API) ([]Account, error) {
	return awsops.ListFromStart(ctx, func(ctx context.Context) ([]Account, error) { return listAccounts(ctx, api) })
}

func listAccounts(ctx context.Context, api API) ([]Account, error) {
	var out []Account
	p := organizations.NewListAccountsPaginator(api, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("organizations:ListAccounts: %w", err)
		}
		for _, a := range page.Accounts {
			status := string(a.State)
			if status == "" {
				status = string(a.Status)
			}
			if status != "ACTIVE" {
				continue
			}
			out = append(out, Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name), Email: aws.ToString(a.Email), Status: status})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Filter keeps the accounts in only (all when empty) and not in skip.
func Filter(accounts []Account, only, skip []string) []Account {
	var out []Account
	for _, a := range accounts {
		if len(only) > 0 && !slices.Contains(only, a.ID) {
			continue
		}
		if slices.Contains(skip, a.ID) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// AssumeRole returns a copy of base whose credentials come from
// sts:AssumeRole into roleARN (refreshed when they expire). It assumes the
// role once right away, so a refused role fails here, named.
func AssumeRole(ctx context.Context, base aws.Config, roleARN, sessionName string) (aws.Config, error) {
	cfg := base.Copy()
	prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = sessionName
	})
	cfg.Credentials = aws.NewCredentialsCache(prov)
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, &AssumeRoleError{RoleARN: roleARN, Err: err}
	}
	return cfg, nil
}

// Sweep runs an operation in every account.
type Sweep struct {
	// Base is the caller's config (the management or delegated admin account).
	Base   aws.Config
	Caller awsops.Identity
	// Role to assume in member accounts (default DefaultRole).
	Role string
	// SessionName of the assumed sessions (default "bks").
	SessionName string
	// Parallel accounts at once (default 4).
	Parallel int
	// Rate per account, requests per second (see awsops.WithRateLimit).
	Rate float64
	// Progress, when set, is called as each account finishes.
	Progress func(done, total int, a Account, err error)
}

// Result is one account's outcome: Err is the AssumeRole or operation error.
type Result struct {
	Account Account
	Err     error
}

// Run calls fn for each account with a config acting in it: the caller's
// own account uses the caller's credentials, the others an assumed role.
// Results are in the order of accounts; Run returns an error only when ctx
// ends.
func (s *Sweep) Run(ctx context.Context, accounts []Account, fn func(ctx context.Context, a Account, cfg aws.Config) error) ([]Result, error) {
	role := s.Role
	if role == "" {
		role = DefaultRole
	}
	session := s.SessionName
	if session == "" {
		session = "bks"
	}
	n := s.Parallel
	if n <= 0 {
		n = 4
	}
	results := make([]Result, len(accounts))
	var g errgroup.Group
	g.SetLimit(n)
	var mu sync.Mutex
	done := 0
	for i, a := range accounts {
		g.Go(func() error {
			results[i].Account = a
			err := func() error {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				var cfg aws.Config
				if a.ID == s.Caller.Account {
					cfg = s.Base.Copy()
				} else {
					var err error
					cfg, err = AssumeRole(ctx, s.Base, awsops.RoleARN(s.Caller.Partition, a.ID, role), session)
					if err != nil {
						return err
					}
				}
				awsops.WithRateLimit(&cfg, s.Rate)
				return fn(ctx, a, cfg)
			}()
			results[i].Err = err
			if s.Progress != nil {
				mu.Lock()
				done++
				s.Progress(done, len(accounts), a, err)
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return results, ctx.Err()
}
