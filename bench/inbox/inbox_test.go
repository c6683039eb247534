package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
)

// parts reads a rendered multipart message and returns each part's media
// type and decoded body.
func parts(t *testing.T, raw []byte) (*mail.Message, map[string]string) {
	t.Helper()
	m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("the message does not parse: %v", err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return m, out
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			r = quotedprintable.NewReader(p)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("part %s: %v", p.Header.Get("Content-Type"), err)
		}
		mt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[mt] = string(body)
	}
}

func TestSignInMessage(t *testing.T) {
	t.Parallel()
	raw := signInMessage().render("shopper-01@qa.example.test", ingestSubject, 7)
	if n := len(raw); n < 7500 || n > 8700 {
		t.Errorf("the sign-in message is %d bytes, want about 8 KB", n)
	}
	m, ps := parts(t, raw)
	if m.Header.Get("To") != "<shopper-01@qa.example.test>" || m.Header.Get("Message-Id") != "<7.bench@shop.example.com>" {
		t.Errorf("To, Message-ID = %q, %q", m.Header.Get("To"), m.Header.Get("Message-Id"))
	}
	if len(ps) != 2 || !strings.Contains(ps["text/plain"], "sign-in code for Example Shop is "+signInCode) ||
		!strings.Contains(ps["text/html"], ">"+signInCode+"</p>") || !strings.Contains(ps["text/html"], `href="https://shop.example.com/login/verify?email=buyer%40qa.example.test"`) {
		t.Errorf("parts = %d, want a text and an HTML part, each with the code:\n%v", len(ps), ps)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a line of %d characters, over SMTP's 998", len(line))
		}
	}
}

func TestBigMessage(t *testing.T) {
	t.Parallel()
	raw := bigMessage(memSize).render("a@qa.example.test", memSubject, 1)
	if n := len(raw); n < memSize-4096 || n > memSize {
		t.Errorf("the big message is %d bytes, want just under %d", n, memSize)
	}
	_, ps := parts(t, raw)
	if len(ps["application/pdf"]) < memSize*70/100 || !strings.Contains(ps["text/plain"], signInCode) {
		t.Errorf("parts: %d bytes of attachment, text %q", len(ps["application/pdf"]), ps["text/plain"])
	}
	if again := bigMessage(memSize).render("a@qa.example.test", memSubject, 1); !bytes.Equal(raw, again) {
		t.Error("two big messages differ: every run should send the same bytes")
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	env := func(string) string { return "postgres://h/db" }
	cfg, err := parseConfig(nil, env, &stderr)
	if err != nil || cfg.Clients != 8 || cfg.Duration != 10*time.Second || cfg.Warmup != 2*time.Second || cfg.Rounds != 1 ||
		cfg.Bin != "bin/understudy" || cfg.Output != "text" || cfg.SkipMailpit {
		t.Errorf("parseConfig() = %+v, %v; want the defaults", cfg, err)
	}
	if _, err := parseConfig(nil, func(string) string { return "" }, &stderr); err == nil || !strings.Contains(err.Error(), "TEST_DATABASE_URL is required") {
		t.Errorf("parseConfig without TEST_DATABASE_URL = %v, want an error naming it", err)
	}
	if cfg, err := parseConfig([]string{"-skip-understudy"}, func(string) string { return "" }, &stderr); err != nil || !cfg.SkipUnderstudy {
		t.Errorf("parseConfig -skip-understudy without a database = %+v, %v; want no error", cfg, err)
	}
	if cfg, err := parseConfig([]string{"-warmup", "0s"}, env, &stderr); err != nil || cfg.Warmup != 0 {
		t.Errorf("parseConfig -warmup 0s = %+v, %v; want no warm-up", cfg, err)
	}
	_, err = parseConfig([]string{"-skip-understudy", "-skip-mailpit", "-clients", "0", "-o", "yaml"}, env, &stderr)
	for _, want := range []string{"nothing to measure", "-clients", "-o"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseConfig of three bad flags = %v, want it to name %s", err, want)
		}
	}
}

func TestReportChecks(t *testing.T) {
	t.Parallel()
	r := newReport(quick(), machineForTest())
	r.Ingest = []phase.Result{{Name: "ingest-understudy", PerSecond: 450}, {Name: "ingest-mailpit", PerSecond: 300}}
	r.Delivery = &phase.Result{Name: "delivery", Requests: 240, P99: phase.Latency(50 * time.Millisecond)}
	r.DeliveryStats = &deliveryStats{Polls: 250}
	r.Memory = []Memory{{Name: "memory-understudy", Messages: 20, MessageBytes: 10 << 20, Clients: 4, InFlightBytes: 40 << 20,
		BeforeRSS: 20 << 20, PeakRSS: 60 << 20, PeakFrom: "vmhwm"}}
	r.check()
	if len(r.Checks) != 2 || r.Checks[0].Measured != 1.5 || !r.Checks[0].Pass || r.Checks[1].Measured != 50 || !r.Checks[1].Pass {
		t.Fatalf("checks = %+v, want 1.5× pass and 50 ms pass (both bounds inclusive)", r.Checks)
	}
	var text bytes.Buffer
	if err := r.Write(&text, "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RATIO inbox_ingest_vs_mailpit 1.5 1 PASS\n", "RATIO inbox_delivery_p99_ms 50 50 PASS\n",
		"peak RSS 60.0 MiB (vmhwm), 1.50 × in flight", "growth 1.00 × in flight"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}
	r.Memory[0].Error = "552 message too big"
	text.Reset()
	if err := r.Write(&text, "text"); err != nil || !strings.Contains(text.String(), "memory-understudy: FAILED: 552 message too big\n") {
		t.Errorf("a memory phase that failed is not reported as such (%v):\n%s", err, text.String())
	}
	r.Ingest, r.Delivery = r.Ingest[1:], nil // Mailpit alone: no ratio, no delivery
	r.check()
	text.Reset()
	if err := r.Write(&text, "text"); err != nil || len(r.Checks) != 0 || strings.Contains(text.String(), "RATIO") {
		t.Errorf("Mailpit alone: checks %+v, report:\n%s", r.Checks, text.String())
	}
	var js bytes.Buffer
	if err := r.Write(&js, "json"); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Ingest []struct {
			PerSecond float64 `json:"requests_per_second"`
		} `json:"ingest"`
		Memory []struct {
			Peak int64 `json:"peak_rss_bytes"`
		} `json:"memory"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Ingest[0].PerSecond != 300 || back.Memory[0].Peak != 60<<20 {
		t.Errorf("JSON report = %+v (%v)", back, err)
	}
}

func TestDeliveryLog(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	ms := time.Millisecond
	var l deliveryLog
	l.markSent(0, t0)            // in the warm-up
	l.markGot(0, t0.Add(ms))     //
	l.markGot(1, t0.Add(9*ms))   // answered before the 250 was read
	l.markSent(1, t0.Add(10*ms)) //
	l.markSent(2, t0.Add(10*ms))
	l.markGot(2, t0.Add(13*ms))
	l.markGot(2, t0.Add(20*ms))  // a second answer with it does not count
	l.markSent(3, t0.Add(11*ms)) // never answered
	if p := l.pending(); p != 1 {
		t.Errorf("pending = %d, want 1", p)
	}
	if n := l.measured(t0.Add(5 * ms)); n != 2 {
		t.Errorf("measured = %d, want 2", n)
	}
	res, st := l.summarize(t0.Add(5*ms), time.Second)
	if res.Requests != 2 || res.Errors != 1 || st.Early != 1 || st.Lost != 1 || time.Duration(res.Max) != 3*ms || res.P50 != 0 {
		t.Errorf("summarize = %+v, %+v; want 2 messages (0 and 3 ms), 1 early, 1 lost", res, st)
	}
	for subject, want := range map[string]int{deliverySubject + " #12": 12, deliverySubject + " #": -1, ingestSubject + "!": -1, "x #3": -1} {
		n, ok := deliveryNumber(subject)
		if (want < 0) == ok || (ok && n != want) {
			t.Errorf("deliveryNumber(%q) = %d, %v; want %d", subject, n, ok, want)
		}
	}
}

func TestIngestPhases(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string]int{}
	var last []byte
	addr := startSMTP(t, func(rcpt string, raw []byte) {
		mu.Lock()
		defer mu.Unlock()
		got[rcpt]++
		last = raw
	})
	addrs := syntheticAddresses(4)
	cfg := noWarmup(quick())
	cfg.Rounds = 2
	res, err := ingestPhases(t.Context(), cfg, signInMessage(), []target{{name: "ingest-a", smtp: addr, addrs: addrs}, {name: "ingest-b", smtp: addr, addrs: addrs}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Name != "ingest-a" || res[1].Name != "ingest-b" || res[0].Requests == 0 || res[1].Requests == 0 || res[0].Errors != 0 {
		t.Fatalf("results = %+v, want both phases measured without errors", res)
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, a := range addrs {
		if got[a] == 0 {
			t.Errorf("no message reached %s (round-robin): %v", a, got)
		}
		total += got[a]
	}
	if total < res[0].Requests+res[1].Requests {
		t.Errorf("the server got %d messages, fewer than the %d measured", total, res[0].Requests+res[1].Requests)
	}
	if _, ps := parts(t, last); !strings.Contains(ps["text/plain"], signInCode) {
		t.Errorf("the message received lacks the code (dot-stuffing?): %v", ps)
	}
}

func TestDeliveryPhase(t *testing.T) {
	t.Parallel()
	leases := []lease{{ID: "l1", Email: "w1@qa.example.test"}, {ID: "l2", Email: "w2@qa.example.test"}, {ID: "l3", Email: "w3@qa.example.test"}}
	inbox := newFakeInbox("runner-secret", leases)
	smtpAddr := startSMTP(t, inbox.deliver)
	base := startInbox(t, inbox)
	cfg := noWarmup(quick())
	res, st, err := deliveryPhase(t.Context(), cfg, smtpAddr, base, "runner-secret", leases)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < minDelivered || res.Errors != 0 || st.Lost != 0 || res.P99 <= 0 || st.Polls < res.Requests {
		t.Errorf("delivery = %+v, %+v; want at least %d messages, none lost, a p99", res, st, minDelivered)
	}
	inbox.mu.Lock()
	defer inbox.mu.Unlock()
	for _, l := range leases {
		if n := len(inbox.msgs[l.Email]); n < minDelivered/len(leases) {
			t.Errorf("%s got %d messages, want its turn of %d", l.Email, n, minDelivered)
		}
	}
}

func TestDeliveryPhaseFailsOnAWaiterError(t *testing.T) {
	t.Parallel()
	leases := []lease{{ID: "l1", Email: "w1@qa.example.test"}}
	inbox := newFakeInbox("runner-secret", leases)
	smtpAddr := startSMTP(t, inbox.deliver)
	base := startInbox(t, inbox)
	_, _, err := deliveryPhase(t.Context(), noWarmup(quick()), smtpAddr, base, "another-token", leases)
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("deliveryPhase with a token the server refuses = %v, want the waiter's 404", err)
	}
}

func TestMemoryPhase(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var sizes []int
	addr := startSMTP(t, func(_ string, raw []byte) {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(raw))
	})
	// The receiver is this process: the fake server runs in it.
	load := memLoad{Messages: 5, Size: 64 << 10, Clients: 2}
	m, err := memoryPhase(t.Context(), "memory-fake", target{smtp: addr, addrs: syntheticAddresses(2)}, os.Getpid(), load)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 5 || m.Messages != 5 || m.MessageBytes < 60<<10 || m.MessageBytes > 64<<10 || m.InFlightBytes != 2*m.MessageBytes {
		t.Errorf("memory = %+v; the server got %v; want 5 messages of about 64 KiB, 2 in flight", m, sizes)
	}
	if m.PeakRSS <= 0 || m.BeforeRSS <= 0 || (m.PeakFrom != "vmhwm" && m.PeakFrom != "sampled") || m.PeakRatio() <= 0 {
		t.Errorf("memory = %+v; want a peak and the resident set before, from VmHWM or samples", m)
	}
	_, err = memoryPhase(t.Context(), "memory-fake", target{smtp: "127.0.0.1:1", addrs: syntheticAddresses(1)}, os.Getpid(), load)
	if err == nil || !strings.Contains(err.Error(), "memory-fake") {
		t.Errorf("memoryPhase with no receiver = %v, want an error naming the phase", err)
	}
}
