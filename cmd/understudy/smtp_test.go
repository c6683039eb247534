package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	understudy "github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/inbox"
)

// noAccounts is a Receiver that knows no synthetic account.
type noAccounts struct{}

func (noAccounts) Accept(context.Context, string) (inbox.Recipient, error) {
	return inbox.Recipient{}, understudy.Errorf(understudy.ENOTFOUND, "no such account")
}

func (noAccounts) Receive(context.Context, inbox.Delivery) ([]string, error) { return nil, nil }

// writeCertificate writes a self-signed certificate and its key as PEM
// files, and returns their paths.
func writeCertificate(t *testing.T) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"}, DNSNames: []string{"mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestStartSMTP(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	if s, addr, err := startSMTP(Config{}.WithDefaults(), noAccounts{}, logger); s != nil || addr != "" || err != nil {
		t.Fatalf("with no smtp_addr: %v, %v", s, err)
	}
	certFile, keyFile := writeCertificate(t)
	cfg := Config{SMTPAddr: "127.0.0.1:0", SMTPHostname: "mx.test", SMTPTLSCert: certFile, SMTPTLSKey: keyFile}.WithDefaults()
	s, _, err := startSMTP(cfg, noAccounts{}, logger)
	if err != nil {
		t.Fatal(err)
	}
	var addr net.Addr
	for deadline := time.Now().Add(5 * time.Second); addr == nil && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		addr = s.Addr() // nil until the background Serve has begun
	}
	if addr == nil {
		t.Fatal("the SMTP receiver is not serving")
	}
	conn, err := textproto.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, msg, err := conn.ReadResponse(220); err != nil || !strings.HasPrefix(msg, "mx.test") {
		t.Fatalf("greeting: %q %v", msg, err)
	}
	id, _ := conn.Cmd("EHLO app.sender.test")
	conn.StartResponse(id)
	_, msg, err := conn.ReadResponse(250)
	conn.EndResponse(id)
	if err != nil || !strings.Contains(msg, "STARTTLS") || !strings.Contains(msg, "SIZE") {
		t.Fatalf("EHLO: %q %v", msg, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// The port is taken now by another listener: the start-up fails.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg.SMTPAddr = l.Addr().String()
	if _, _, err := startSMTP(cfg, noAccounts{}, logger); err == nil || !strings.Contains(err.Error(), "UNDERSTUDY_SMTP_ADDR") {
		t.Fatalf("a taken port: %v", err)
	}
}

// A bad certificate or key fails the start-up with an error that names the
// settings, never the key's content.
func TestStartSMTPBadCertificate(t *testing.T) {
	t.Parallel()
	certFile, keyFile := writeCertificate(t)
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	garbled := filepath.Join(t.TempDir(), "garbled.pem")
	if err := os.WriteFile(garbled, bytes.ReplaceAll(keyPEM, []byte("PRIVATE KEY"), []byte("SECRET THING")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cert, key, want string
	}{
		{"a key that is not one", certFile, garbled, "UNDERSTUDY_SMTP_TLS_KEY"},
		{"the files swapped", keyFile, certFile, "UNDERSTUDY_SMTP_TLS_CERT"},
		{"a missing file", certFile, filepath.Join(t.TempDir(), "absent.pem"), "absent.pem"},
		{"a cert without its key", certFile, "", "go together"},
	} {
		cfg := Config{SMTPAddr: "127.0.0.1:0", SMTPTLSCert: tc.cert, SMTPTLSKey: tc.key}.WithDefaults()
		_, _, err := startSMTP(cfg, noAccounts{}, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %s", tc.name, err, tc.want)
			continue
		}
		body := strings.Split(string(keyPEM), "\n")[1]
		if strings.Contains(err.Error(), body[:20]) {
			t.Errorf("%s: the error repeats the key", tc.name)
		}
	}
}
