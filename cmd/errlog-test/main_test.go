package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer ok.Close()
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Sentry-Error", "invalid api key")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer denied.Close()
	dsn := func(srv *httptest.Server) string {
		return strings.Replace(srv.URL, "http://", "http://secretkey@", 1) + "/7"
	}
	for _, tt := range []struct {
		name        string
		args        []string
		env         map[string]string
		code        int
		out, errs   string
		notInOutput string
	}{
		{"flag", []string{"-dsn", dsn(ok)}, nil, 0, "ok: " + ok.URL + "/7 accepted the test event", "", "secretkey"},
		{"environment", nil, map[string]string{"ERRLOG_DSN": dsn(ok)}, 0, "accepted the test event", "", "secretkey"},
		{"denied", nil, map[string]string{"ERRLOG_DSN": dsn(denied)}, 1, "", "authentication failed (check the DSN's key)", "secretkey"},
		{"debug URL", []string{"-debug-url", ok.URL + "/bin/secrettoken"}, nil, 0, "ok: debug URL " + ok.URL + "/… accepted the test event", "", "secrettoken"},
		{"debug URL denied", []string{"-debug-url", denied.URL + "/bin/secrettoken"}, nil, 1, "", denied.URL + "/… answered 401", "secrettoken"},
		{"no DSN", nil, nil, 2, "", "no DSN: set ERRLOG_DSN or pass -dsn", ""},
		{"bad flag", []string{"-nope"}, nil, 2, "", "flag provided but not defined", ""},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.out) || !strings.Contains(stderr.String(), tt.errs) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", tt.name, code, stdout.String(), stderr.String(), tt.code, tt.out, tt.errs)
		}
		if tt.notInOutput != "" && strings.Contains(stdout.String()+stderr.String(), tt.notInOutput) {
			t.Errorf("%s: output shows %q", tt.name, tt.notInOutput)
		}
	}
}
