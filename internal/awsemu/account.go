package awsemu

import (
	"net/http"
	"slices"
	"strings"
)

// AWS Account Management (REST JSON, POST /listRegions), enough for bks to
// list the regions enabled in the caller's account, in the shape of
// https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html:
// Regions[{RegionName, RegionOptStatus}], paged by NextToken. The enabled
// regions are Account.Regions; those outside the default set answer
// ENABLED (opted in), the others ENABLED_BY_DEFAULT.

// accountRoute recognises an Account Management request.
func accountRoute(r *http.Request, req *request) bool {
	if r.Method != http.MethodPost || r.URL.Path != "/listRegions" {
		return false
	}
	req.service, req.action, req.protocol = "account", "ListRegions", "rest"
	return true
}

// restJSONBody reads a REST JSON request's body into req.json (and its
// top-level strings into req.params).
func restJSONBody(body []byte, req *request) *apiError {
	req.json = map[string]any{}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := jsonUnmarshal(body, &req.json); err != nil {
			return &apiError{400, "SerializationException", err.Error()}
		}
	}
	for k, v := range req.json {
		if sv, ok := v.(string); ok {
			req.params[k] = sv
		}
	}
	return nil
}

func (s *Server) account(req *request) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.accounts[req.account]
	if a == nil {
		return nil, &apiError{403, "AccessDeniedException", "no such account"}
	}
	want := map[string]bool{}
	if l, ok := req.json["RegionOptStatusContains"].([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				want[s] = true
			}
		}
	}
	regions := slices.Clone(a.Regions)
	slices.Sort(regions)
	maxItems := intParam(req.params, "MaxResults")
	if n, ok := req.json["MaxResults"].(interface{ Int64() (int64, error) }); ok {
		v, _ := n.Int64()
		maxItems = int(v)
	}
	pg, next, aerr := page(regions, func(r string) string { return r }, s.cursor(req, "NextToken"), maxItems, 20, 50)
	if aerr != nil {
		return nil, &apiError{400, "ValidationException", "Invalid NextToken"}
	}
	list := []any{}
	for _, r := range pg {
		status := "ENABLED"
		if slices.Contains(defaultRegions, r) || !strings.Contains(r, "-") {
			status = "ENABLED_BY_DEFAULT"
		}
		if len(want) == 0 || want[status] {
			list = append(list, map[string]any{"RegionName": r, "RegionOptStatus": status})
		}
	}
	out := map[string]any{"Regions": list}
	if next != "" {
		out["NextToken"] = next
	}
	return jsonReply(out)
}
