package testchromium

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// cdp is a DevTools protocol client on the browser's WebSocket
// (https://chromedevtools.github.io/devtools-protocol/): commands with ids
// answered by responses with the same id, and events, which go to onEvent.
// Sessions are flat (Target.attachToTarget with flatten): a page's
// commands and events carry its sessionId.
type cdp struct {
	ws      *wsConn
	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpMessage
	events  chan cdpMessage
	readErr error
	done    chan struct{}
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func dialCDP(url string) (*cdp, error) {
	ws, err := dialWS(url, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &cdp{ws: ws, pending: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 1024), done: make(chan struct{})}
	go c.read()
	return c, nil
}

// read dispatches the browser's messages until the connection ends.
func (c *cdp) read() {
	defer close(c.done)
	for {
		b, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		var m cdpMessage
		if err := json.Unmarshal(b, &m); err != nil {
			continue
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		c.events <- m // buffered; a page that floods more than that blocks until load drains it
	}
}

// call sends a command and waits for its response.
func (c *cdp) call(session, method string, params any, timeout time.Duration) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	if params == nil {
		params = struct{}{}
	}
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(cdpMessage{ID: id, Method: method, Params: p, SessionID: session})
	if err != nil {
		return nil, err
	}
	if err := c.ws.WriteText(b); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %d %s", method, m.Error.Code, m.Error.Message)
		}
		return m.Result, nil
	case <-c.done:
		return nil, fmt.Errorf("%s: connection closed: %v", method, c.readErr)
	case <-time.After(timeout):
		return nil, fmt.Errorf("%s: no answer in %s", method, timeout)
	}
}

func (c *cdp) close() {
	c.call("", "Browser.close", nil, 5*time.Second) //nolint:errcheck // the process is killed anyway
	c.ws.Close()
}

// load opens url in a new tab and waits for its load event; the errors
// are those the page caused until then, and until the DOM was read.
func (c *cdp) load(url string, timeout time.Duration) (Page, error) {
	var p Page
	var target struct{ TargetID string }
	r, err := c.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, timeout)
	if err != nil || json.Unmarshal(r, &target) != nil {
		return p, fmt.Errorf("create target: %v", err)
	}
	var att struct{ SessionID string }
	r, err = c.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, timeout)
	if err != nil || json.Unmarshal(r, &att) != nil {
		return p, fmt.Errorf("attach: %v", err)
	}
	s := att.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if _, err := c.call(s, m, nil, timeout); err != nil {
			return p, err
		}
	}
	if _, err := c.call(s, "Page.setLifecycleEventsEnabled", map[string]any{"enabled": true}, timeout); err != nil {
		return p, err
	}
	var nav struct{ ErrorText string }
	r, err = c.call(s, "Page.navigate", map[string]any{"url": url}, timeout)
	if err != nil || json.Unmarshal(r, &nav) != nil {
		return p, fmt.Errorf("navigate: %v", err)
	}
	if nav.ErrorText != "" {
		return p, fmt.Errorf("navigate: %s", nav.ErrorText)
	}
	if err := c.waitLoad(s, &p, time.Now().Add(timeout)); err != nil {
		return p, err
	}
	if p.DOM, err = c.eval(s, "document.documentElement.outerHTML", timeout); err != nil {
		return p, err
	}
	if p.Text, err = c.eval(s, "document.body ? document.body.innerText : ''", timeout); err != nil {
		return p, err
	}
	c.drain(s, &p)                                                                         // what came before the last answer
	c.call("", "Target.closeTarget", map[string]any{"targetId": target.TargetID}, timeout) //nolint:errcheck // the browser goes at the end anyway
	return p, nil
}

// waitLoad collects the session's errors until its load event and then
// its network is idle (Chromium's "networkIdle" lifecycle event: no
// request for 500 ms), so that what the page does just after its load
// (the favicon request, a timer) is seen too.
func (c *cdp) waitLoad(session string, p *Page, deadline time.Time) error {
	loaded, idle := false, false
	for {
		select {
		case m := <-c.events:
			if m.SessionID != session {
				continue
			}
			switch m.Method {
			case "Page.loadEventFired":
				loaded = true
			case "Page.lifecycleEvent":
				var e struct{ Name string }
				if json.Unmarshal(m.Params, &e) == nil && e.Name == "networkIdle" && loaded {
					idle = true
				}
			}
			if loaded && idle {
				return nil
			}
			if e := errorOf(m); e != "" {
				p.Errors = append(p.Errors, e)
			}
		case <-c.done:
			return fmt.Errorf("connection closed before the load event: %v", c.readErr)
		case <-time.After(time.Until(deadline)):
			return fmt.Errorf("no load event (%v) or idle network (%v) in time", loaded, idle)
		}
	}
}

func (c *cdp) drain(session string, p *Page) {
	for {
		select {
		case m := <-c.events:
			if e := errorOf(m); m.SessionID == session && e != "" {
				p.Errors = append(p.Errors, e)
			}
		default:
			return
		}
	}
}

// eval returns the string value of a JavaScript expression in the page.
func (c *cdp) eval(session, expr string, timeout time.Duration) (string, error) {
	r, err := c.call(session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, timeout)
	if err != nil {
		return "", err
	}
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *json.RawMessage `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(r, &res); err != nil || res.ExceptionDetails != nil {
		return "", fmt.Errorf("evaluate %s: %v %s", expr, err, r)
	}
	s, _ := res.Result.Value.(string)
	return s, nil
}

// errorOf is the error an event reports, "" when it reports none:
// console.error and console.assert calls (Runtime.consoleAPICalled),
// uncaught exceptions (Runtime.exceptionThrown), and log entries of level
// error: what the console shows in red, such as a resource that failed to
// load or a Content-Security-Policy violation (Log.entryAdded).
func errorOf(m cdpMessage) string {
	switch m.Method {
	case "Runtime.consoleAPICalled":
		var e struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		if json.Unmarshal(m.Params, &e) != nil || (e.Type != "error" && e.Type != "assert") {
			return ""
		}
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		return "console." + e.Type + ": " + strings.Join(parts, " ")
	case "Runtime.exceptionThrown":
		var e struct {
			ExceptionDetails struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(m.Params, &e)
		return "exception: " + e.ExceptionDetails.Text + " " + e.ExceptionDetails.Exception.Description
	case "Log.entryAdded":
		var e struct {
			Entry struct {
				Level, Source, Text, URL string
			} `json:"entry"`
		}
		if json.Unmarshal(m.Params, &e) != nil || e.Entry.Level != "error" {
			return ""
		}
		return fmt.Sprintf("log (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL)
	}
	return ""
}
