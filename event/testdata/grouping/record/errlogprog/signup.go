package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
)

// afterWorker ends main: it waits, as main did, for the worker's panic to
// be reported, then logs the cases added since. They are here, and main
// calls this in place of its sleep, so that main.go's lines, and the
// events of its cases, stay as they were recorded.
func afterWorker(ctx context.Context) {
	time.Sleep(100 * time.Millisecond)

	// Validation errors of one type joined, two in one event and three
	// in the other, from one call site: one group.
	for _, f := range []signupForm{
		{Email: "ann.example.com", Name: "a", Age: 31},
		{Email: "bob", Name: "", Age: 12},
	} {
		if errs := validateSignup(f); len(errs) > 0 {
			slog.ErrorContext(labelled(ctx, "go-signup-invalid"), "signup rejected", "err", errors.Join(errs...))
		}
	}
}

type signupForm struct {
	Email, Name string
	Age         int
}

// fieldError is a form field's validation error.
type fieldError struct{ Field, Problem string }

func (e *fieldError) Error() string { return e.Field + ": " + e.Problem }

func validateSignup(f signupForm) []error {
	var errs []error
	if !strings.Contains(f.Email, "@") {
		errs = append(errs, &fieldError{"email", "not an address"})
	}
	if len(f.Name) < 2 {
		errs = append(errs, &fieldError{"name", "shorter than 2 characters"})
	}
	if f.Age < 16 {
		errs = append(errs, &fieldError{"age", "under 16"})
	}
	return errs
}
