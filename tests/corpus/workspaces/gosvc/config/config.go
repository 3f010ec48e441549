package config

import (
	"os"
	"strconv"
	"time"
)

// notes: 0

// Config is the service configuration, read from the environment.
type Config struct {
	ListenAddr      string
	DatabaseURL     string
	DBPasswordRef   string
	SecretCacheTTL  time.Duration
	ShutdownTimeout time.Duration
}

func getenv(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// Load reads the configuration. The database password is never in the
// environment: DB_PASSWORD_REF names it, and SecretManager resolves it.
func Load() Config {
	ttl, _ := strconv.Atoi(getenv("SECRET_CACHE_TTL_SECONDS", "300"))
	return Config{
		ListenAddr:      getenv("LISTEN_ADDR", "127.0.0.1:8080"),
		DatabaseURL:     getenv("DATABASE_URL", "postgres://payments@127.0.0.1:5432/payments?sslmode=disable"),
		DBPasswordRef:   getenv("DB_PASSWORD_REF", "secret://payments/db-password"),
		SecretCacheTTL:  time.Duration(ttl) * time.Second,
		ShutdownTimeout: 10 * time.Second,
	}
}
