package delivery_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/errlog/errlog/internal/delivery"
)

func Example() {
	q, err := delivery.New(delivery.Options{
		Name: "example",
		Send: func(ctx context.Context, it delivery.Item) error {
			fmt.Printf("sent %s: %s\n", it.ID, it.Body)
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	q.Enqueue(delivery.Item{ID: "1", Body: []byte("first")})
	q.Enqueue(delivery.Item{ID: "2", Body: []byte("second")})
	if err := q.Close(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", q.Stats())
	// Output:
	// sent 1: first
	// sent 2: second
	// {Enqueued:2 Recovered:0 Sent:2 Retried:0 Dropped:0 Failed:0 Evicted:0 Spooled:0 Duplicates:0 Pending:0}
}

// A SendFunc classifies its failures: Permanent for what retrying cannot
// fix, so that one bad payload does not hold up everything behind it.
func ExamplePermanent() {
	q, _ := delivery.New(delivery.Options{
		Name: "smtp",
		Send: func(ctx context.Context, it delivery.Item) error {
			if len(it.Body) == 0 {
				return delivery.Permanent(errors.New("550 empty message"))
			}
			fmt.Printf("sent %s\n", it.ID)
			return nil
		},
		OnError: func(err error) { fmt.Println(err) },
	})
	q.Enqueue(delivery.Item{ID: "<a@example.com>"})
	q.Enqueue(delivery.Item{ID: "<b@example.com>", Body: []byte("Subject: hi\r\n\r\nhello\r\n")})
	q.Close(context.Background())
	// Output:
	// errlog: smtp: dropping item <a@example.com> after a permanent failure: 550 empty message
	// sent <b@example.com>
}
