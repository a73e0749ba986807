//go:build !moved

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// checkout logs two different failures: two groups.
func checkout(ctx context.Context, order int) {
	if err := charge(order); err != nil {
		slog.ErrorContext(labelled(ctx, "go-charge-failed"), "charge failed", "order", order, "err", err)
	}
	if err := label(order); err != nil {
		slog.ErrorContext(labelled(ctx, "go-label-failed"), "shipping label failed", "order", order, "err", err)
	}
}

func charge(order int) error {
	return fmt.Errorf("charge order %d: %w", order, errors.New("card declined"))
}

func label(order int) error {
	return fmt.Errorf("label for order %d: %w", order, errors.New("carrier unavailable"))
}
