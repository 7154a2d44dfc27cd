package githubfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Who may call the fake, as GitHub tells them apart:
//   - Server.Token, and the tokens of AddUser: a user's personal access
//     token (GET /user answers its login).
//   - an App: a JWT signed with the App's private key authenticates as the
//     App, for GET /app and POST /app/installations/{id}/access_tokens
//     (docs.github.com/en/apps/creating-github-apps/authenticating-with-a-
//     github-app/generating-a-json-web-token-jwt-for-a-github-app), which
//     issues an installation token: it works for one hour, for the
//     repositories of the account the App is installed on, through the API
//     and for git over smart HTTP (as the password of any user), and it
//     writes as "<slug>[bot]".
//
// Check runs can only be written by an App: "Write permission for the
// REST API to interact with checks is only available to GitHub Apps. OAuth
// apps and authenticated users can view check runs and check suites, but
// they are not able to create them" (docs.github.com/en/rest/checks/runs).
// A user's token gets 403 "You must authenticate via a GitHub App.".

// App is a GitHub App registered with the fake.
type App struct {
	ID   int64
	Slug string
	// Key is the public half of the App's private key.
	Key *rsa.PublicKey
	// Installations maps an installation id to the account (owner login)
	// the App is installed on.
	Installations map[int64]string
}

// identity is who sent a request: a user (app nil) or an App's
// installation (owner: the account it is installed on).
type identity struct {
	login string
	app   *App
	owner string
}

// issued is an installation token.
type issued struct {
	id      identity
	expires time.Time
}

// InstallationTokenTTL is the life of an installation token ("The
// installation access token will expire after 1 hour").
const InstallationTokenTTL = time.Hour

// maxJWTLife bounds a JWT's exp: "no more than 10 minutes into the
// future" (the JWT page above).
const maxJWTLife = 10 * time.Minute

// AddApp registers an App.
func (s *Server) AddApp(a *App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps = append(s.apps, a)
}

// AddUser makes token a personal access token of login.
func (s *Server) AddUser(token, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users == nil {
		s.users = map[string]string{}
	}
	s.users[token] = login
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// tokenLogin is the login of Server.Token's user.
func (s *Server) tokenLogin() string {
	if s.TokenLogin != "" {
		return s.TokenLogin
	}
	return "octocat"
}

// who says who sent the request: ok false when its credentials are
// refused (unknown while the fake asks for a token, or expired); id nil
// for an anonymous request to a fake that asks for none.
func (s *Server) who(r *http.Request, git bool) (id *identity, ok bool) {
	var tok string
	if git {
		_, tok, _ = r.BasicAuth()
	} else {
		h := r.Header.Get("Authorization")
		if t, found := strings.CutPrefix(h, "Bearer "); found {
			tok = t
		} else if t, found := strings.CutPrefix(h, "token "); found {
			tok = t
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, found := s.issued[tok]; found && tok != "" {
		if !s.now().Before(it.expires) {
			return nil, false
		}
		cp := it.id
		return &cp, true
	}
	switch login, user := s.users[tok]; {
	case tok != "" && tok == s.Token:
		return &identity{login: s.tokenLogin()}, true
	case user:
		return &identity{login: login}, true
	case s.Token == "":
		if tok != "" { // an open fake takes any token as its user's
			return &identity{login: s.tokenLogin()}, true
		}
		return nil, true
	}
	return nil, false
}

// serveApp serves the endpoints authenticated as an App (with a JWT): GET
// /app and POST /app/installations/{id}/access_tokens; false when p is
// neither.
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request, seg []string) bool {
	get := len(seg) == 1 && seg[0] == "app" && r.Method == http.MethodGet
	mint := len(seg) == 4 && seg[0] == "app" && seg[1] == "installations" && seg[3] == "access_tokens" && r.Method == http.MethodPost
	if !get && !mint {
		return false
	}
	app, msg := s.appOf(r)
	if app == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
		return true
	}
	if get {
		writeJSON(w, http.StatusOK, map[string]any{"id": app.ID, "slug": app.Slug, "name": app.Slug, "owner": map[string]any{"login": "octo"}})
		return true
	}
	inst, _ := strconv.ParseInt(seg[2], 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, ok := app.Installations[inst]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"})
		return true
	}
	b := make([]byte, 18)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read does not fail
	tok := "ghs_" + hex.EncodeToString(b)
	exp := s.now().Add(InstallationTokenTTL).UTC().Truncate(time.Second)
	if s.issued == nil {
		s.issued = map[string]issued{}
	}
	s.issued[tok] = issued{id: identity{login: app.Slug + "[bot]", app: app, owner: owner}, expires: exp}
	s.counts["access_tokens"]++
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": tok, "expires_at": exp.Format(time.RFC3339), "repository_selection": "all",
		"permissions": map[string]string{"checks": "write", "contents": "read", "pull_requests": "write", "metadata": "read"},
	})
	return true
}

// revokeToken serves DELETE /installation/token: the installation token
// that authenticates the request stops working (204;
// docs.github.com/en/rest/apps/installations#revoke-an-installation-access-token);
// false when p is not that endpoint.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, seg []string) bool {
	if len(seg) != 2 || seg[0] != "installation" || seg[1] != "token" || r.Method != http.MethodDelete {
		return false
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok, _ = strings.CutPrefix(tok, "token ")
	s.mu.Lock()
	it, ok := s.issued[tok]
	ok = ok && s.now().Before(it.expires)
	if ok { // kept, expired: refused as GitHub refuses a revoked token
		it.expires = time.Time{}
		s.issued[tok] = it
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return true
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// appOf verifies the request's JWT and returns its App, or nil and
// GitHub's message: a token that is not a JWT, not RS256, signed by
// another key or for an unknown App, issued in the future, expired, or
// expiring more than 10 minutes from now, is refused.
func (s *Server) appOf(r *http.Request) (*App, string) {
	const undecodable = "A JSON web token could not be decoded"
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(tok, ".")
	if !ok || len(parts) != 3 {
		return nil, undecodable
	}
	enc := base64.RawURLEncoding
	var head struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iat json.Number `json:"iat"`
		Exp json.Number `json:"exp"`
		Iss any         `json:"iss"`
	}
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &head) != nil || json.Unmarshal(cb, &claims) != nil || head.Alg != "RS256" {
		return nil, undecodable
	}
	iss := ""
	switch v := claims.Iss.(type) {
	case string:
		iss = v
	case float64:
		iss = strconv.FormatFloat(v, 'f', -1, 64)
	}
	s.mu.Lock()
	var app *App
	for _, a := range s.apps {
		if strconv.FormatInt(a.ID, 10) == iss {
			app = a
		}
	}
	s.mu.Unlock()
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if app == nil || app.Key == nil || rsa.VerifyPKCS1v15(app.Key, crypto.SHA256, sum[:], sig) != nil {
		return nil, undecodable
	}
	iat, err1 := claims.Iat.Int64()
	exp, err2 := claims.Exp.Int64()
	now := s.now().Unix()
	switch {
	case err1 != nil || iat > now+60: // GitHub allows a little drift
		return nil, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	case err2 != nil || exp <= now:
		return nil, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	case exp > now+int64(maxJWTLife/time.Second):
		return nil, "'Expiration time' claim ('exp') is too far in the future"
	}
	return app, ""
}

// canSee reports whether id may see the repositories of owner: an
// installation only sees its account's.
func (id *identity) canSee(owner string) bool {
	return id == nil || id.app == nil || strings.EqualFold(id.owner, owner)
}

// getUser serves GET /user: the token's user. An installation token has
// no user ("Resource not accessible by integration").
func (s *Server) getUser(w http.ResponseWriter, id *identity) {
	switch {
	case id == nil:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Requires authentication", "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user"})
	case id.app != nil:
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"login": id.login, "type": "User"})
	}
}

// userJSON is how the API shows who wrote something.
func (id *identity) userJSON() map[string]any {
	if id == nil {
		return map[string]any{"login": "", "type": "User"}
	}
	if id.app != nil {
		return map[string]any{"login": id.login, "type": "Bot"}
	}
	return map[string]any{"login": id.login, "type": "User"}
}
