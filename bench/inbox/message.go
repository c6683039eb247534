package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

// benchFrom is the envelope and header sender of every message: an app
// under test sending its sign-in mail.
const benchFrom = "no-reply@shop.example.com"

// signInCode is the code every sign-in message carries, as a test would
// read it.
const signInCode = "482913"

// message builds the messages a phase sends: the same body each time, with
// headers of its own (recipient, subject, Message-ID).
type message struct {
	body []byte // from its last header (Content-Type) to the end
}

// signInMessage returns the realistic sign-in mail of the ingest and
// delivery phases: multipart/alternative with a text and an HTML part of a
// shop's branded template, about 8 KB in all, the code in both parts.
func signInMessage() message {
	var b bytes.Buffer
	const boundary = "=_understudy_bench_alt_7f3a9c"
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	b.WriteString(signInText())
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	b.WriteString(signInHTML())
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return message{body: b.Bytes()}
}

// signInText is the text part: the code, then the usual footer.
func signInText() string {
	var b strings.Builder
	b.WriteString("Hi,\r\n\r\nYour sign-in code for Example Shop is " + signInCode + ".\r\n\r\n")
	b.WriteString("It expires in 10 minutes. If you did not try to sign in, you can ignore this\r\nemail: someone may have typed your address by mistake.\r\n\r\n")
	b.WriteString("Sign in: https://shop.example.com/login/verify?email=3Dbuyer%40qa.example.test\r\n\r\n")
	for i := range 11 {
		fmt.Fprintf(&b, "Tip %d: keep your account safe: never share this code, not even with our support\r\nteam. We will never ask you for it by phone or by email.\r\n", i+1)
	}
	b.WriteString("\r\n--\r\nExample Shop, 1 Market Street, Springfield\r\nManage your email preferences: https://shop.example.com/account/email\r\nUnsubscribe: https://shop.example.com/unsubscribe?u=3Dbench\r\n")
	return b.String()
}

// signInHTML is the HTML part: a table layout with inline styles, as
// transactional mail templates are, with the code in a large cell.
func signInHTML() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\r\n<html><head><meta http-equiv=3D\"Content-Type\" content=3D\"text/html; charset=3Dutf-8\">\r\n")
	b.WriteString("<title>Your sign-in code</title></head>\r\n<body style=3D\"margin:0;padding:0;background:#f4f4f7;font-family:Helvetica,Arial,sans-serif\">\r\n")
	b.WriteString("<table role=3D\"presentation\" width=3D\"100%\" cellpadding=3D\"0\" cellspacing=3D\"0\" style=3D\"background:#f4f4f7\">\r\n")
	b.WriteString("<tr><td align=3D\"center\" style=3D\"padding:24px\"><img src=3D\"https://shop.example.com/static/logo.png\" alt=3D\"Example Shop\" width=3D\"120\" height=3D\"40\"></td></tr>\r\n")
	b.WriteString("<tr><td align=3D\"center\" style=3D\"padding:0 24px\"><p style=3D\"font-size:16px;color:#333333\">Hi,</p>\r\n")
	b.WriteString("<p style=3D\"font-size:16px;color:#333333\">Your sign-in code for Example Shop is:</p>\r\n")
	b.WriteString("<p style=3D\"font-size:32px;font-weight:bold;letter-spacing:6px;color:#111111\">" + signInCode + "</p>\r\n")
	b.WriteString("<p><a href=3D\"https://shop.example.com/login/verify?email=3Dbuyer%40qa.example.test\" style=3D\"display:inline-block;padding:12px 24px;background:#0a66c2;color:#ffffff;text-decoration:none;border-radius:4px\">Sign in</a></p>\r\n")
	b.WriteString("</td></tr>\r\n")
	for i := range 20 {
		fmt.Fprintf(&b, "<tr><td style=3D\"padding:8px 24px;font-size:13px;line-height:18px;color:#666666\">Tip %d: keep your account safe. =\r\nNever share this code, not even with our support team; we will never ask you for it.</td></tr>\r\n", i+1)
	}
	b.WriteString("<tr><td align=3D\"center\" style=3D\"padding:24px;font-size:12px;color:#999999\">Example Shop, 1 Market Street, Springfield<br>\r\n")
	b.WriteString("<a href=3D\"https://shop.example.com/account/email\" style=3D\"color:#999999\">Email preferences</a> | =\r\n<a href=3D\"https://shop.example.com/unsubscribe?u=3Dbench\" style=3D\"color:#999999\">Unsubscribe</a></td></tr>\r\n")
	b.WriteString("</table>\r\n</body></html>\r\n")
	return b.String()
}

// bigMessage returns a message of about size bytes for the memory phase: a
// short text part and a base64 attachment of random bytes (which no store
// can compress much).
func bigMessage(size int) message {
	var b bytes.Buffer
	const boundary = "=_understudy_bench_mixed_51c2e8"
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour sign-in code is %s. Your invoice is attached.\r\n", boundary, signInCode)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary)
	// base64 makes 4 characters of 3 bytes, in lines of 76 and a CRLF.
	raw := make([]byte, (size-1024)/78*76/4*3) // leaves room for the headers and the text part
	rng := rand.New(rand.NewPCG(1, 2))         // fixed: every run sends the same bytes
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return message{body: b.Bytes()}
}

// render returns the whole message to rcpt with subject, and a Message-ID
// of its own made from seq.
func (m message) render(rcpt, subject string, seq uint64) []byte {
	var b bytes.Buffer
	b.Grow(len(m.body) + 512)
	fmt.Fprintf(&b, "From: Example Shop <%s>\r\nTo: <%s>\r\nSubject: %s\r\n", benchFrom, rcpt, subject)
	b.WriteString("Date: Sat, 05 Dec 2026 12:00:00 +0000\r\n")
	fmt.Fprintf(&b, "Message-ID: <%d.bench@shop.example.com>\r\nMIME-Version: 1.0\r\n", seq)
	b.Write(m.body)
	return b.Bytes()
}
