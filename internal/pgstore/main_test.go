package pgstore_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t testing.TB, dsn string) *pgx.Conn { t.Helper(); return pgtest.Connect(t, dsn) }
