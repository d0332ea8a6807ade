package main

import (
	"log/slog"
	"os"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/notify"
)

// notifyFlags configure notifications (internal/notify) for `syncd run`.
type notifyFlags struct {
	NotifyWebhook []string `name:"notify-webhook" env:"SYNCD_NOTIFY_WEBHOOK" sep:"," placeholder:"URL" help:"POST a signed JSON notification to URL on drift opened or resolved, change failed, resource stuck and run failed (repeatable; the environment takes a comma-separated list). Signed with SYNCD_NOTIFY_SECRET."`
	NotifySlack   []string `name:"notify-slack" env:"SYNCD_NOTIFY_SLACK" sep:"," placeholder:"URL" help:"Send the same notifications to a Slack incoming-webhook URL (repeatable)."`
	ConsoleURL    string   `name:"console-url" env:"SYNCD_CONSOLE_URL" placeholder:"URL" help:"The web console's public base URL, for links in notifications (default: http:// and the listen address)."`
}

// notifier builds the notification sender; nil when no sink is configured,
// and for `run --once`, which sends nothing itself. The signing secret is
// read from the environment only.
func (f notifyFlags) notifier(log *slog.Logger, once bool, listen, databaseURL string) (daemon.Notifier, error) {
	if len(f.NotifyWebhook)+len(f.NotifySlack) == 0 {
		return nil, nil
	}
	if once {
		log.Warn("run --once sends no notifications: a daemon with --notify-* against the same database sends them for its events")
		return nil, nil
	}
	if f.ConsoleURL == "" && listen == "" {
		log.Warn("notifications will carry no console links: set --console-url or --listen")
	}
	n, err := notify.New(notify.Options{
		DatabaseURL: databaseURL, Webhooks: f.NotifyWebhook, Slack: f.NotifySlack,
		Secret: []byte(os.Getenv("SYNCD_NOTIFY_SECRET")), ConsoleURL: f.ConsoleURL, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}
