package serve

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

// webhookEvents are the GitHub events the service queues. Others (ping,
// and whatever else a webhook is subscribed to) are verified, logged and
// answered 204 without being stored.
var webhookEvents = map[string]bool{
	"push":         true,
	"pull_request": true,
}

// webhook accepts one GitHub delivery. In order: too big (413), no
// signature or a bad one (401), no delivery id or event (400), an event
// the service ignores (204), the database failing or the queue full (503 +
// Retry-After: GitHub redelivers on request, and nothing was half-recorded),
// a delivery id seen before (200, nothing done, even while the queue is
// full), else recorded with its job and answered 202. The queue limit is
// checked in the transaction that records the delivery (store.Admit), so a
// burst of concurrent deliveries cannot pass it.
//
// A replay is answered 200, not 409: a redelivery from GitHub keeps the
// X-GitHub-Delivery of the original ("If you request a redelivery, the
// X-GitHub-Delivery header will be the same as in the original delivery",
// docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-
// webhooks), and GitHub marks any non-2xx as a failed delivery, which is what
// operators and the documented "redeliver failed deliveries" scripts resend:
// a 409 would bring the same delivery back again and again. The replay is
// refused in effect (no row, no job, nothing processed twice) and logged.
//
// The body is never logged; the headers logged are GitHub's own.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	id, event := r.Header.Get("X-GitHub-Delivery"), r.Header.Get("X-GitHub-Event")
	log := s.log.With("delivery", logSafe(id), "event", logSafe(event), "remote", r.RemoteAddr)
	refuse := func(code int, reason string) {
		s.metrics.Delivery(refusedResults[code])
		log.Warn("webhook refused", "status", code, "reason", reason)
		http.Error(w, reason, code)
	}
	if r.ContentLength > s.cfg.MaxBody {
		refuse(http.StatusRequestEntityTooLarge, "payload too large")
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		refuse(http.StatusUnauthorized, "missing X-Hub-Signature-256")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		refuse(http.StatusRequestEntityTooLarge, "payload too large")
		return
	case err != nil:
		refuse(http.StatusBadRequest, "could not read the body")
		return
	}
	if !validSignature(s.cfg.WebhookSecret, body, sig) {
		refuse(http.StatusUnauthorized, "bad X-Hub-Signature-256")
		return
	}
	if !validID(id) || !validID(event) {
		refuse(http.StatusBadRequest, "missing or malformed X-GitHub-Delivery or X-GitHub-Event")
		return
	}
	if !webhookEvents[event] {
		s.metrics.Delivery(DeliveryIgnored)
		log.Info("webhook ignored", "status", http.StatusNoContent, "bytes", len(body))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	unavailable := func(result, reason string, err error) {
		s.metrics.Delivery(result)
		log.Error("webhook not stored", "status", http.StatusServiceUnavailable, "reason", reason, "err", err)
		w.Header().Set("Retry-After", "30")
		http.Error(w, reason, http.StatusServiceUnavailable)
	}
	// GitHub waits 10 s for an answer ("respond within 10 seconds",
	// docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-
	// webhooks): a database that hangs gets 503 before that.
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.DBTimeout)
	defer cancel()
	added, err := s.st.Admit(ctx, store.Delivery{ID: id, Event: event, ReceivedAt: time.Now(), Body: body}, s.cfg.MaxQueue)
	switch {
	case errors.Is(err, store.ErrQueueFull):
		unavailable(DeliveryQueueFull, "queue full", err)
		return
	case err != nil:
		unavailable(DeliveryUnavailable, "cannot store the delivery now", err)
		return
	}
	if !added {
		s.metrics.Delivery(DeliveryDuplicate)
		log.Warn("webhook replayed: already recorded, nothing done", "status", http.StatusOK)
		writeStatus(w, http.StatusOK, "duplicate")
		return
	}
	s.wakeWorker()
	s.metrics.Delivery(DeliveryAccepted)
	log.Info("webhook accepted", "status", http.StatusAccepted, "bytes", len(body))
	writeStatus(w, http.StatusAccepted, "accepted")
}

// validSignature reports whether sig is "sha256=" and the hex HMAC-SHA256
// of body under secret, compared in constant time.
func validSignature(secret, body []byte, sig string) bool {
	hexMAC, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexMAC)
	if err != nil {
		return false
	}
	return hmac.Equal(got, bodyMAC(secret, body))
}

// Sign returns the X-Hub-Signature-256 value of body under secret, as
// GitHub computes it (tests and the demo sign their deliveries with it).
func Sign(secret, body []byte) string {
	return "sha256=" + hex.EncodeToString(bodyMAC(secret, body))
}

func bodyMAC(secret, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}

// validID accepts what GitHub puts in X-GitHub-Delivery (a GUID) and
// X-GitHub-Event (a snake_case name): short, of letters, digits, '-' and
// '_'. The id is a primary key and both are logged.
func validID(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// logSafe is s for a log line when it is an id, else a placeholder: the
// headers are read before the signature is checked.
func logSafe(s string) string {
	if s == "" || validID(s) {
		return s
	}
	return "(malformed)"
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	io.WriteString(w, `{"status":"`+status+`"}`+"\n")
}
