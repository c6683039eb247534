package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/understudy-dev/understudy/inbox"
)

// startSMTP starts the SMTP receiver when cfg.SMTPAddr is set, delivering
// to r: it loads the STARTTLS certificate, listens (so a taken port fails
// the start-up) and serves in the background, and returns the address it
// listens on. It returns nil, "", nil when SMTP is off. The caller stops
// it with Shutdown.
func startSMTP(cfg Config, r inbox.Receiver, logger *slog.Logger) (*inbox.SMTPServer, string, error) {
	if cfg.SMTPAddr == "" {
		return nil, "", nil
	}
	tlsConfig, err := smtpTLS(cfg)
	if err != nil {
		return nil, "", err
	}
	s, err := inbox.NewSMTPServer(inbox.SMTPConfig{
		Addr:              cfg.SMTPAddr,
		Hostname:          cfg.SMTPHostname,
		MaxBytes:          cfg.SMTPMaxBytes,
		TLS:               tlsConfig,
		CheckSenders:      new(cfg.SMTPCheckSendersOn()),
		MaxConnsPerClient: cfg.SMTPClientMaxConns,
		MaxConnsPerMinute: cfg.SMTPClientConnsPerMinute,
		Logger:            logger,
	}, r)
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", cfg.SMTPAddr)
	if err != nil {
		return nil, "", fmt.Errorf("smtp_addr (UNDERSTUDY_SMTP_ADDR): listening on %s: %w", cfg.SMTPAddr, err)
	}
	go func() {
		if err := s.Serve(l); err != nil {
			logger.Error("the SMTP receiver stopped", slog.String("err", err.Error()))
		}
	}()
	logger.Info("receiving mail", slog.String("smtp_addr", l.Addr().String()), slog.Bool("starttls", tlsConfig != nil),
		slog.Bool("check_senders", cfg.SMTPCheckSendersOn()))
	return s, l.Addr().String(), nil
}

// smtpTLS loads the STARTTLS certificate, nil when none is configured.
func smtpTLS(cfg Config) (*tls.Config, error) {
	switch {
	case cfg.SMTPTLSCert == "" && cfg.SMTPTLSKey == "":
		return nil, nil
	case cfg.SMTPTLSCert == "" || cfg.SMTPTLSKey == "":
		return nil, errors.New("smtp_tls_cert and smtp_tls_key (UNDERSTUDY_SMTP_TLS_CERT, UNDERSTUDY_SMTP_TLS_KEY) go together: set both files, or neither")
	}
	cert, err := tls.LoadX509KeyPair(cfg.SMTPTLSCert, cfg.SMTPTLSKey)
	if err != nil {
		// The error names the file and what is wrong with it, never the
		// key's content.
		return nil, fmt.Errorf("smtp_tls_cert %s and smtp_tls_key %s (UNDERSTUDY_SMTP_TLS_CERT, UNDERSTUDY_SMTP_TLS_KEY): %w",
			cfg.SMTPTLSCert, cfg.SMTPTLSKey, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
