package main

import (
	"log"
	"net/http"

	"example.org/payments/config"
	"example.org/payments/internal/health"
)

// notes: 0

func main() {
	cfg := config.Load()
	mux := http.NewServeMux()
	mux.Handle("/healthz", health.Handler())
	log.Printf("payments listening on http://%s (try http://localhost:8080/healthz)", cfg.ListenAddr)
	log.Fatal(http.ListenAndServe(cfg.ListenAddr, mux))
}
