package campaign

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/multipos/multipos/server/store/postgres" // store.OpenReadOnly of postgres:// URLs, and the "pgx" driver
)

// database is the journal's database, made for the campaign.
type database struct {
	dsn   string // what posserver is given
	admin string // PostgreSQL: where the database was created
	name  string // PostgreSQL: the database's name
}

// openDatabase makes the campaign's database: a SQLite file in its folder,
// or a new PostgreSQL database next to the one the URL names.
func openDatabase(ctx context.Context, cfg Config, dir string) (*database, error) {
	if cfg.Engine != EnginePostgres {
		return &database{dsn: filepath.Join(dir, "posserver.db")}, nil
	}
	if cfg.PostgresURL == "" {
		return nil, errors.New("the postgres engine needs a PostgreSQL URL (scripts/need-postgres prints one)")
	}
	u, err := url.Parse(cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL URL: %w", err)
	}
	name := "multipos_campaign_" + strings.ToLower(rand.Text()[:10])
	admin, err := sql.Open("pgx", cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("PostgreSQL: create database %s: %w", name, err)
	}
	u.Path = "/" + name
	return &database{dsn: u.String(), admin: cfg.PostgresURL, name: name}, nil
}

// drop removes a PostgreSQL database made for the campaign.
func (d *database) drop() {
	if d.name == "" {
		return
	}
	admin, err := sql.Open("pgx", d.admin)
	if err != nil {
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+d.name+" WITH (FORCE)")
}
