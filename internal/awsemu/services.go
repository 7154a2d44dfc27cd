package awsemu

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sts answers GetCallerIdentity and AssumeRole.
func (s *Server) sts(req *request) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b xb
	switch req.action {
	case "GetCallerIdentity":
		b.leaf("Arn", req.callerARN)
		b.leaf("UserId", s.userID(req))
		b.leaf("Account", req.account)
	case "AssumeRole":
		roleARN, name := req.params["RoleArn"], req.params["RoleSessionName"]
		if name == "" {
			return nil, errInvalid("RoleSessionName is required")
		}
		acct, role, ok := parseRoleARN(roleARN)
		if !ok {
			return nil, errInvalid("%s is not a valid role ARN", roleARN)
		}
		denied := &apiError{403, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", req.callerARN, roleARN)}
		a := s.st.accounts[acct]
		if a == nil {
			return nil, denied
		}
		r := findRole(a, role)
		if r == nil {
			return nil, denied
		}
		if aerr := s.authorizeAssumeRole(req, acct, r, roleARN); aerr != nil {
			return nil, aerr
		}
		dur := intParam(req.params, "DurationSeconds")
		if dur == 0 {
			dur = 3600
		}
		now := s.now().UTC()
		akid := s.st.newID("ASIA", acct)
		sess := &session{
			account: acct,
			arn:     fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", s.st.partition, acct, role, name),
			role:    role,
			issued:  now,
			expires: now.Add(time.Duration(dur) * time.Second),
		}
		s.st.sessions[akid] = sess
		b.open("Credentials")
		b.leaf("AccessKeyId", akid)
		b.leaf("SecretAccessKey", newSecret(s.st.next()))
		b.leaf("SessionToken", base64.StdEncoding.EncodeToString([]byte("emu-session:"+akid)))
		b.time("Expiration", sess.expires)
		b.close("Credentials")
		b.open("AssumedRoleUser")
		b.leaf("AssumedRoleId", r.ID+":"+name)
		b.leaf("Arn", sess.arn)
		b.close("AssumedRoleUser")
	default:
		return nil, &apiError{400, "InvalidAction", "STS action " + req.action + " is not emulated"}
	}
	return queryReply(req, b.String()), nil
}

func (s *Server) userID(req *request) string {
	if req.session != nil {
		return "AROA" + req.session.role
	}
	a := s.st.accounts[req.account]
	if i := strings.Index(req.callerARN, ":user/"); i >= 0 && a != nil {
		name := req.callerARN[strings.LastIndex(req.callerARN, "/")+1:]
		if u := findUser(a, name); u != nil {
			return u.ID
		}
	}
	return "AIDAEMULATORCALLER01"
}

func parseRoleARN(arn string) (account, role string, ok bool) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "iam" || !strings.HasPrefix(f[5], "role/") {
		return "", "", false
	}
	role = f[5][strings.LastIndex(f[5], "/")+1:]
	return f[4], role, validAccount(f[4]) && role != ""
}

func jsonReply(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("awsemu: encode reply: %w", err)
	}
	return b, nil
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// organizations answers ListAccounts, DescribeOrganization and DescribeAccount.
func (s *Server) organizations(req *request) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	org := s.st.org
	if org == nil {
		return nil, &apiError{400, "AWSOrganizationsNotInUseException", "Your account is not a member of an organization."}
	}
	if req.account != org.ManagementAccount {
		switch {
		case req.action == "DescribeOrganization":
		case slices.Contains(org.DelegatedAdministrators, req.account):
			// ListAccounts and DescribeAccount: "only from the
			// organization's management account or by a member account
			// that is a delegated administrator".
		default:
			return nil, &apiError{400, "AccessDeniedException", "You don't have permissions to access this resource."}
		}
	}
	part := s.st.partition
	acctJSON := func(r *OrgAccountRef) map[string]any {
		// Newer responses carry State next to the deprecated Status.
		state := r.Status
		return map[string]any{
			"Id":              r.ID,
			"Arn":             fmt.Sprintf("arn:%s:organizations::%s:account/%s/%s", part, org.ManagementAccount, org.ID, r.ID),
			"Email":           r.Email,
			"Name":            r.Name,
			"Status":          r.Status,
			"State":           state,
			"JoinedMethod":    "CREATED",
			"JoinedTimestamp": epoch(r.Joined),
		}
	}
	switch req.action {
	case "ListAccounts":
		refs := append([]*OrgAccountRef(nil), org.Accounts...)
		sort.Slice(refs, func(i, j int) bool { return refs[i].ID < refs[j].ID })
		maxItems := 0
		if n, ok := req.json["MaxResults"].(json.Number); ok {
			v, _ := n.Int64()
			maxItems = int(v)
		}
		pg, next, err := page(refs, func(r *OrgAccountRef) string { return r.ID }, s.cursor(req, "NextToken"), maxItems, 20, 20)
		if err != nil {
			return nil, &apiError{400, "InvalidInputException", "Invalid NextToken"}
		}
		out := map[string]any{}
		list := []any{}
		for _, r := range pg {
			list = append(list, acctJSON(r))
		}
		out["Accounts"] = list
		if next != "" {
			out["NextToken"] = next
		}
		return jsonReply(out)
	case "DescribeAccount":
		for _, r := range org.Accounts {
			if r.ID == req.params["AccountId"] {
				return jsonReply(map[string]any{"Account": acctJSON(r)})
			}
		}
		return nil, &apiError{400, "AccountNotFoundException", "You specified an account that doesn't exist."}
	case "DescribeOrganization":
		return jsonReply(map[string]any{"Organization": map[string]any{
			"Id":                 org.ID,
			"Arn":                fmt.Sprintf("arn:%s:organizations::%s:organization/%s", part, org.ManagementAccount, org.ID),
			"FeatureSet":         "ALL",
			"MasterAccountId":    org.ManagementAccount,
			"MasterAccountArn":   fmt.Sprintf("arn:%s:organizations::%s:account/%s/%s", part, org.ManagementAccount, org.ID, org.ManagementAccount),
			"MasterAccountEmail": "aws+" + org.ManagementAccount + "@example.com",
		}})
	}
	return nil, &apiError{400, "UnknownOperationException", "Organizations action " + req.action + " is not emulated"}
}

// cloudtrail answers LookupEvents from the account's event history in the
// region the request was signed for.
func (s *Server) cloudtrail(req *request) ([]byte, error) {
	if req.action != "LookupEvents" {
		return nil, &apiError{400, "UnknownOperationException", "CloudTrail action " + req.action + " is not emulated"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.accounts[req.account]
	if a == nil {
		return nil, &apiError{400, "AccessDeniedException", "no such account"}
	}
	if aerr := s.throttleLookup(req); aerr != nil {
		return nil, aerr
	}
	var attrKey, attrVal string
	if attrs, ok := req.json["LookupAttributes"].([]any); ok {
		if len(attrs) > 1 {
			return nil, &apiError{400, "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute."}
		}
		if len(attrs) == 1 {
			m, _ := attrs[0].(map[string]any)
			attrKey, _ = m["AttributeKey"].(string)
			attrVal, _ = m["AttributeValue"].(string)
		}
	}
	start, end := time.Time{}, s.now().UTC()
	if v, ok := req.json["StartTime"].(json.Number); ok {
		f, _ := v.Float64()
		start = time.Unix(0, int64(f*1e9)).UTC()
	}
	if v, ok := req.json["EndTime"].(json.Number); ok {
		f, _ := v.Float64()
		end = time.Unix(0, int64(f*1e9)).UTC()
	}
	maxItems := 0
	if v, ok := req.json["MaxResults"].(json.Number); ok {
		n, _ := v.Int64()
		maxItems = int(n)
	}
	var evs []*Event
	for _, e := range a.Events {
		if e.Region != req.region || e.Time.Before(start) || e.Time.After(end) {
			continue
		}
		if attrKey != "" && !eventMatches(e, attrKey, attrVal) {
			continue
		}
		evs = append(evs, e)
	}
	// Newest first, as CloudTrail returns them; the id breaks ties so the
	// paging key is total.
	sort.Slice(evs, func(i, j int) bool {
		if !evs[i].Time.Equal(evs[j].Time) {
			return evs[i].Time.After(evs[j].Time)
		}
		return evs[i].ID < evs[j].ID
	})
	key := func(e *Event) string {
		return fmt.Sprintf("%020d|%s", int64(1<<62)-e.Time.UnixNano(), e.ID)
	}
	pg, next, aerr := page(evs, key, s.cursor(req, "NextToken"), maxItems, 50, 50)
	if aerr != nil {
		return nil, &apiError{400, "InvalidNextTokenException", "Invalid NextToken"}
	}
	list := []any{}
	for _, e := range pg {
		list = append(list, s.eventJSON(a, e))
	}
	out := map[string]any{"Events": list}
	if next != "" {
		out["NextToken"] = next
	}
	return jsonReply(out)
}

func eventMatches(e *Event, key, val string) bool {
	switch key {
	case "Username":
		return e.Username == val
	case "AccessKeyId":
		return e.AccessKeyID == val
	case "EventName":
		return e.Name == val
	case "EventSource":
		return e.Source == val
	case "EventId":
		return e.ID == val
	case "ReadOnly":
		return strconv.FormatBool(e.ReadOnly) == val
	case "ResourceName":
		for _, r := range e.Resources {
			if r.Name == val {
				return true
			}
		}
	case "ResourceType":
		for _, r := range e.Resources {
			if r.Type == val {
				return true
			}
		}
	}
	return false
}

func (s *Server) eventJSON(a *Account, e *Event) map[string]any {
	part := s.st.partition
	idType := e.IdentityType
	if idType == "" {
		idType = "IAMUser"
	}
	arn := e.IdentityARN
	if arn == "" && e.Username != "" && idType == "IAMUser" {
		arn = fmt.Sprintf("arn:%s:iam::%s:user/%s", part, a.ID, e.Username)
	}
	identity := map[string]any{"type": idType, "accountId": a.ID}
	if arn != "" {
		identity["arn"] = arn
	}
	if e.AccessKeyID != "" {
		identity["accessKeyId"] = e.AccessKeyID
	}
	if e.Username != "" && idType == "IAMUser" {
		identity["userName"] = e.Username
	}
	doc := map[string]any{
		"eventVersion":       "1.09",
		"userIdentity":       identity,
		"eventTime":          isoTime(e.Time),
		"eventSource":        e.Source,
		"eventName":          e.Name,
		"awsRegion":          e.Region,
		"sourceIPAddress":    orDefault(e.SourceIP, "203.0.113.10"),
		"userAgent":          orDefault(e.UserAgent, "aws-cli/2.15.0"),
		"requestParameters":  e.RequestParameters,
		"responseElements":   e.ResponseElements,
		"eventID":            e.ID,
		"readOnly":           e.ReadOnly,
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": a.ID,
		"eventCategory":      "Management",
	}
	if e.AdditionalEventData != nil {
		doc["additionalEventData"] = e.AdditionalEventData
	}
	if e.ErrorCode != "" {
		doc["errorCode"] = e.ErrorCode
	}
	raw, _ := json.Marshal(doc)
	out := map[string]any{
		"EventId":         e.ID,
		"EventName":       e.Name,
		"ReadOnly":        strconv.FormatBool(e.ReadOnly),
		"EventTime":       epoch(e.Time),
		"EventSource":     e.Source,
		"CloudTrailEvent": string(raw),
	}
	if e.Username != "" {
		out["Username"] = e.Username
	}
	if e.AccessKeyID != "" {
		out["AccessKeyId"] = e.AccessKeyID
	}
	var res []any
	for _, r := range e.Resources {
		res = append(res, map[string]any{"ResourceType": r.Type, "ResourceName": r.Name})
	}
	if res != nil {
		out["Resources"] = res
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AddEvent appends a CloudTrail event to an account's history.
func (s *Server) AddEvent(account string, e Event) error {
	return s.Mutate(account, func(a *Account) error {
		ev := e
		if ev.ID == "" {
			ev.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", s.st.next(), s.st.next())
		}
		if ev.Region == "" {
			ev.Region = "us-east-1"
		}
		if ev.Source == "" {
			ev.Source = "iam.amazonaws.com"
		}
		a.Events = append(a.Events, &ev)
		return nil
	})
}

var foundationModels = []map[string]any{
	{"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0", "modelName": "Claude 3.5 Sonnet", "providerName": "Anthropic"},
	{"modelId": "amazon.titan-text-express-v1", "modelName": "Titan Text G1 - Express", "providerName": "Amazon"},
	{"modelId": "meta.llama3-8b-instruct-v1:0", "modelName": "Llama 3 8B Instruct", "providerName": "Meta"},
}

// bedrock answers GET /foundation-models. Asked as a regional host
// (regional.go), a long-term key outside its partition and a short-term key
// outside the region it was signed for answer "Authentication failed", as
// AWS does (short-term keys are regional:
// https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-generate.html;
// a key used in another region gets that answer:
// https://github.com/ai4s-research/open-science/issues/53). A bearer token is live when it
// is the secret of an Active, unexpired Bedrock credential (long-term), or
// a short-term token whose presigned URL names an access key the emulator
// knows, not yet expired; and no policy of its principal denies it. The
// key is evaluated as the credentials that signed it: aws:TokenIssueTime
// is the session's issue time for a session, absent for a long-term access
// key (AKIA…).
// SigV4-signed calls are answered as the caller.
func (s *Server) bedrock(req *request, r *http.Request) ([]byte, error) {
	auth := r.Header.Get("Authorization")
	if token, ok := strings.CutPrefix(auth, "Bearer "); ok {
		token = strings.TrimSpace(token)
		req.bearerType = "SHORT_TERM"
		if strings.HasPrefix(token, "ABSK") {
			req.bearerType = "LONG_TERM"
		}
		if err := s.checkBearer(req, token); err != nil {
			return nil, err
		}
	}
	part := s.st.partition
	var list []any
	for _, m := range foundationModels {
		mm := map[string]any{}
		for k, v := range m {
			mm[k] = v
		}
		mm["modelArn"] = fmt.Sprintf("arn:%s:bedrock:%s::foundation-model/%s", part, req.region, m["modelId"])
		mm["inputModalities"] = []string{"TEXT"}
		mm["outputModalities"] = []string{"TEXT"}
		list = append(list, mm)
	}
	return jsonReply(map[string]any{"modelSummaries": list})
}

func (s *Server) checkBearer(req *request, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	authFailed := &apiError{403, "AccessDeniedException", "Authentication failed: Please make sure your API Key is valid."}
	now := s.now().UTC()
	if strings.HasPrefix(token, "ABSK") {
		for _, id := range s.st.order {
			a := s.st.accounts[id]
			for _, u := range a.Users {
				for _, c := range u.ServiceCredentials {
					if c.Service != bedrockService || c.Secret != token {
						continue
					}
					req.account, req.callerARN = a.ID, userARN(s.st.partition, a.ID, u)
					if req.hostRegion != "" && partitionOfRegion(req.hostRegion) != s.st.partition {
						return authFailed // a long-term key works in its own partition only
					}
					if credStatus(c, now) != "Active" {
						return authFailed
					}
					if msg := s.bearerDenied(a.ID, req.callerARN, req.callerARN, u.InlinePolicies, u.AttachedPolicies, time.Time{}, "LONG_TERM"); msg != "" {
						return &apiError{403, "AccessDeniedException", msg}
					}
					return nil
				}
			}
		}
		return authFailed
	}
	raw, ok := strings.CutPrefix(token, "bedrock-api-key-")
	if !ok {
		return authFailed
	}
	dec, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return authFailed
	}
	u, err := url.Parse("https://" + string(dec))
	if err != nil {
		return authFailed
	}
	q := u.Query()
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	issued, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil || len(scope) != 5 {
		return authFailed
	}
	exp, _ := strconv.Atoi(q.Get("X-Amz-Expires"))
	if !now.Before(issued.Add(time.Duration(exp) * time.Second)) {
		return authFailed
	}
	if req.hostRegion != "" && req.hostRegion != scope[2] {
		return authFailed // a short-term key works in the region it was signed for only
	}
	req.region = scope[2]
	akid := scope[0]
	if sess, ok := s.st.sessions[akid]; ok {
		if now.After(sess.expires) {
			return authFailed
		}
		req.account, req.callerARN = sess.account, sess.arn
		if a := s.st.accounts[sess.account]; a != nil {
			if r := findRole(a, sess.role); r != nil {
				if msg := s.bearerDenied(a.ID, sess.arn, roleARN(s.st.partition, a.ID, r), r.InlinePolicies, r.AttachedPolicies, sess.issued, "SHORT_TERM"); msg != "" {
					return &apiError{403, "AccessDeniedException", msg}
				}
			}
		}
		return nil
	}
	for _, id := range s.st.order {
		a := s.st.accounts[id]
		for _, usr := range a.Users {
			for _, k := range usr.AccessKeys {
				if k.ID != akid {
					continue
				}
				req.account, req.callerARN = a.ID, userARN(s.st.partition, a.ID, usr)
				if k.Status != "Active" {
					return authFailed
				}
				// Signed with a long-term access key: no aws:TokenIssueTime
				// (present only for temporary credentials,
				// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tokenissuetime),
				// whatever the URL's X-Amz-Date says.
				if msg := s.bearerDenied(a.ID, req.callerARN, req.callerARN, usr.InlinePolicies, usr.AttachedPolicies, time.Time{}, "SHORT_TERM"); msg != "" {
					return &apiError{403, "AccessDeniedException", msg}
				}
				return nil
			}
		}
	}
	return authFailed
}
