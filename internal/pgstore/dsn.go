package pgstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// CheckDatabaseURL names what is wrong with a PostgreSQL URL (scheme, host,
// port), never quoting the URL itself, since it may hold a password. A
// key=value connection string is left to the driver.
func CheckDatabaseURL(dsn string) error {
	if strings.TrimSpace(dsn) == "" {
		return errors.New("the database URL is empty")
	}
	scheme, rest, isURL := strings.Cut(dsn, "://")
	if !isURL {
		if strings.Contains(dsn, "=") {
			return nil // key=value pairs
		}
		return errors.New("the database URL has no scheme: want postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME")
	}
	if scheme != "postgres" && scheme != "postgresql" {
		return fmt.Errorf("the database URL's scheme is %q: want postgres:// or postgresql://", scheme)
	}
	hostPart := rest
	if i := strings.IndexAny(hostPart, "/?"); i >= 0 {
		hostPart = hostPart[:i]
	}
	if i := strings.LastIndex(hostPart, "@"); i >= 0 {
		hostPart = hostPart[i+1:]
	}
	// Several hosts may be listed, comma separated; an empty host means
	// the local socket.
	for _, h := range strings.Split(hostPart, ",") {
		if h == "" {
			continue
		}
		host, port := h, ""
		if strings.HasPrefix(h, "[") {
			end := strings.Index(h, "]")
			if end < 0 {
				return errors.New("the database URL's host has an unclosed [ (IPv6 address)")
			}
			host, port = h[1:end], strings.TrimPrefix(h[end+1:], ":")
		} else if i := strings.LastIndex(h, ":"); i >= 0 {
			host, port = h[:i], h[i+1:]
		}
		if port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("the database URL's port %q is not a number from 1 to 65535", port)
			}
		}
		if host == "" {
			return errors.New("the database URL has a port but no host")
		}
		if strings.ContainsAny(host, " %") {
			return fmt.Errorf("the database URL's host %q is not a host name", host)
		}
	}
	if _, err := url.Parse(dsn); err != nil {
		return errors.New("the database URL is not a valid URL (a special character in the password must be percent-encoded)")
	}
	return nil
}

// endpoint names where cfg connects, for errors: host:port and database,
// never the user's password.
func endpoint(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	where := net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
	if strings.HasPrefix(c.Host, "/") {
		where = c.Host
	}
	return where + "/" + c.Database
}
