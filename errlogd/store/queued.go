package store

// Queued returns how many events wait for the writer (a metrics gauge:
// near WriterOptions.Queue, ingest starts answering 429).
func (w *Writer) Queued() int { return len(w.queue) }
