// Package mail sends outgoing mail through SMTP, into a directory (one file
// per message, for development and tests), or into the log.
package mail

import (
	"context"
	"fmt"
	"log/slog"
	"net/smtp"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Message is one outgoing mail.
type Message struct {
	To      string
	Subject string
	Body    string
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Config selects the sender: SMTPURL wins, then Dir, else the log.
type Config struct {
	SMTPURL string // smtp://user:pass@host:port?from=noreply@example.com
	Dir     string
	From    string
}

// New builds the sender the configuration selects.
func New(cfg Config, logger *slog.Logger) (Sender, error) {
	switch {
	case cfg.SMTPURL != "":
		return newSMTP(cfg)
	case cfg.Dir != "":
		if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("mail dir: %w", err)
		}
		return &DirSender{Dir: cfg.Dir}, nil
	default:
		return LogSender{Logger: logger}, nil
	}
}

// DirSender writes each message to its own file in Dir.
type DirSender struct {
	Dir string
	seq atomic.Int64
}

// Send writes the message as a small RFC 822-like text file.
func (d *DirSender) Send(_ context.Context, m Message) error {
	name := fmt.Sprintf("%d-%06d.eml", time.Now().UnixNano(), d.seq.Add(1))
	text := fmt.Sprintf("To: %s\nSubject: %s\n\n%s\n", m.To, m.Subject, m.Body)
	// Write then rename so a reader never sees a half-written message.
	tmp := filepath.Join(d.Dir, "."+name)
	if err := os.WriteFile(tmp, []byte(text), 0o640); err != nil {
		return fmt.Errorf("write mail: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(d.Dir, name)); err != nil {
		return fmt.Errorf("write mail: %w", err)
	}
	return nil
}

// LogSender logs messages instead of sending them.
type LogSender struct{ Logger *slog.Logger }

// Send logs the recipient and subject; the body may hold a secret link, so
// it is logged only at debug level.
func (l LogSender) Send(ctx context.Context, m Message) error {
	l.Logger.InfoContext(ctx, "mail not sent (no ANNALS_SMTP_URL or ANNALS_MAIL_DIR)", "to", m.To, "subject", m.Subject)
	l.Logger.DebugContext(ctx, "mail body", "to", m.To, "body", m.Body)
	return nil
}

type smtpSender struct {
	addr string
	auth smtp.Auth
	from string
}

func newSMTP(cfg Config) (Sender, error) {
	u, err := url.Parse(cfg.SMTPURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid ANNALS_SMTP_URL")
	}
	s := &smtpSender{addr: u.Host, from: cfg.From}
	if f := u.Query().Get("from"); f != "" {
		s.from = f
	}
	if s.from == "" {
		s.from = "annals@localhost"
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pw, u.Hostname())
	}
	return s, nil
}

func (s *smtpSender) Send(_ context.Context, m Message) error {
	msg := "From: " + s.from + "\r\nTo: " + m.To + "\r\nSubject: " + m.Subject +
		"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(m.Body, "\n", "\r\n")
	if err := smtp.SendMail(s.addr, s.auth, s.from, []string{m.To}, []byte(msg)); err != nil {
		return fmt.Errorf("send mail to %s: %w", m.To, err)
	}
	return nil
}
