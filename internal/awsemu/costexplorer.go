package awsemu

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Cost Explorer (JSON 1.1, X-Amz-Target AWSInsightsIndexService.*), enough
// for the incident report: GetDimensionValues and GetCostAndUsage on the
// SERVICE dimension, DAILY granularity, answered from Account.Costs in the
// shapes of
// https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetDimensionValues.html
// and
// https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html:
// one ResultsByTime entry per day of the period, Groups keyed by service
// when grouped (Total then empty), amounts as decimal strings.

// Cost is one day of one service's unblended cost in an account.
type Cost struct {
	Date    string  `json:"date"`    // 2006-01-02
	Service string  `json:"service"` // e.g. "Amazon Bedrock", "Claude 3.5 Sonnet (Amazon Bedrock Edition)"
	Amount  float64 `json:"amount"`  // USD
}

const ceDate = "2006-01-02"

func (s *Server) costExplorer(req *request) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.accounts[req.account]
	if a == nil {
		return nil, &apiError{400, "AccessDeniedException", "no such account"}
	}
	start, end, aerr := cePeriod(req.json)
	if aerr != nil {
		return nil, aerr
	}
	switch req.action {
	case "GetDimensionValues":
		return ceDimensionValues(a, req.json, start, end)
	case "GetCostAndUsage":
		return ceCostAndUsage(a, req, start, end, min(31, s.st.pageSize))
	}
	return nil, &apiError{400, "UnknownOperationException", "Cost Explorer action " + req.action + " is not emulated"}
}

// cePeriod reads TimePeriod: Start inclusive, End exclusive, both required.
func cePeriod(j map[string]any) (time.Time, time.Time, *apiError) {
	tp, _ := j["TimePeriod"].(map[string]any)
	s, _ := tp["Start"].(string)
	e, _ := tp["End"].(string)
	start, err1 := time.Parse(ceDate, s)
	end, err2 := time.Parse(ceDate, e)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, &apiError{400, "ValidationException", "TimePeriod Start and End must be dates in the form yyyy-MM-dd"}
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, &apiError{400, "ValidationException", "Start date (" + s + ") must be before end date (" + e + ")"}
	}
	return start, end, nil
}

func costsIn(a *Account, start, end time.Time) []*Cost {
	var out []*Cost
	for _, c := range a.Costs {
		d, err := time.Parse(ceDate, c.Date)
		if err == nil && !d.Before(start) && d.Before(end) {
			out = append(out, c)
		}
	}
	return out
}

func ceDimensionValues(a *Account, j map[string]any, start, end time.Time) ([]byte, error) {
	if d, _ := j["Dimension"].(string); d != "SERVICE" {
		return nil, &apiError{400, "ValidationException", "the emulator answers GetDimensionValues for SERVICE only, not " + d}
	}
	search, _ := j["SearchString"].(string)
	seen := map[string]bool{}
	vals := []any{}
	for _, c := range costsIn(a, start, end) {
		if seen[c.Service] || !strings.Contains(strings.ToLower(c.Service), strings.ToLower(search)) {
			continue
		}
		seen[c.Service] = true
		vals = append(vals, map[string]any{"Value": c.Service, "Attributes": map[string]any{}})
	}
	sort.Slice(vals, func(i, k int) bool {
		return vals[i].(map[string]any)["Value"].(string) < vals[k].(map[string]any)["Value"].(string)
	})
	return jsonReply(map[string]any{"DimensionValues": vals, "ReturnSize": len(vals), "TotalSize": len(vals)})
}

// ceCostAndUsage answers DAILY UnblendedCost, filtered on SERVICE values
// when asked, grouped by SERVICE when asked; pages by 31 days
// (Seed.PageSize days when set).
func ceCostAndUsage(a *Account, req *request, start, end time.Time, per int) ([]byte, error) {
	j := req.json
	if g, _ := j["Granularity"].(string); g != "DAILY" {
		return nil, &apiError{400, "ValidationException", "the emulator answers DAILY granularity only"}
	}
	if m, _ := j["Metrics"].([]any); len(m) != 1 || m[0] != "UnblendedCost" {
		return nil, &apiError{400, "ValidationException", "the emulator answers Metrics [UnblendedCost] only"}
	}
	filter, aerr := ceServiceFilter(j["Filter"])
	if aerr != nil {
		return nil, aerr
	}
	grouped, aerr := ceGroupedByService(j["GroupBy"])
	if aerr != nil {
		return nil, aerr
	}
	first := 0
	if tok := req.params["NextPageToken"]; tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			return nil, &apiError{400, "InvalidNextTokenException", "Invalid NextPageToken"}
		}
		first = n
	}
	days := int(end.Sub(start).Hours() / 24)
	last := min(first+per, days)
	costs := costsIn(a, start, end)
	results := []any{}
	for i := first; i < last; i++ {
		day := start.AddDate(0, 0, i).Format(ceDate)
		results = append(results, ceDay(costs, day, filter, grouped))
	}
	out := map[string]any{"ResultsByTime": results, "DimensionValueAttributes": []any{}}
	if grouped {
		out["GroupDefinitions"] = []any{map[string]any{"Type": "DIMENSION", "Key": "SERVICE"}}
	}
	if last < days {
		out["NextPageToken"] = strconv.Itoa(last)
	}
	return jsonReply(out)
}

func ceDay(costs []*Cost, day string, filter map[string]bool, grouped bool) map[string]any {
	per := map[string]float64{}
	total := 0.0
	for _, c := range costs {
		if c.Date == day && (filter == nil || filter[c.Service]) {
			per[c.Service] += c.Amount
			total += c.Amount
		}
	}
	money := func(f float64) map[string]any {
		return map[string]any{"UnblendedCost": map[string]any{"Amount": strconv.FormatFloat(f, 'f', -1, 64), "Unit": "USD"}}
	}
	end, _ := time.Parse(ceDate, day)
	r := map[string]any{"TimePeriod": map[string]any{"Start": day, "End": end.AddDate(0, 0, 1).Format(ceDate)}, "Estimated": false}
	if !grouped {
		r["Total"], r["Groups"] = money(total), []any{}
		return r
	}
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	groups := []any{}
	for _, n := range names {
		groups = append(groups, map[string]any{"Keys": []any{n}, "Metrics": money(per[n])})
	}
	r["Total"], r["Groups"] = map[string]any{}, groups
	return r
}

// ceServiceFilter reads a Filter of the form {"Dimensions": {"Key":
// "SERVICE", "Values": [...]}}; nil when there is none.
func ceServiceFilter(f any) (map[string]bool, *apiError) {
	if f == nil {
		return nil, nil
	}
	m, _ := f.(map[string]any)
	d, _ := m["Dimensions"].(map[string]any)
	if k, _ := d["Key"].(string); len(m) != 1 || k != "SERVICE" {
		return nil, &apiError{400, "ValidationException", fmt.Sprintf("the emulator filters on Dimensions SERVICE only, not %v", f)}
	}
	vals, _ := d["Values"].([]any)
	if len(vals) == 0 {
		return nil, &apiError{400, "ValidationException", "Dimension values must not be empty"}
	}
	out := map[string]bool{}
	for _, v := range vals {
		if s, ok := v.(string); ok {
			out[s] = true
		}
	}
	return out, nil
}

func ceGroupedByService(g any) (bool, *apiError) {
	list, _ := g.([]any)
	switch len(list) {
	case 0:
		return false, nil
	case 1:
		m, _ := list[0].(map[string]any)
		if m["Type"] == "DIMENSION" && m["Key"] == "SERVICE" {
			return true, nil
		}
	}
	return false, &apiError{400, "ValidationException", fmt.Sprintf("the emulator groups by DIMENSION SERVICE only, not %v", g)}
}
