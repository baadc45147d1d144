package projections

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// maxPipelined bounds the statements a bulkWriter sends in one round trip.
const maxPipelined = 1000

// bulkWriter sends a rebuild's writes in as few round trips as it can while
// keeping their order: statements are pipelined, and runs of at least
// minRows new rows are copied with COPY, table by table, referenced tables
// first. Shorter runs are not worth COPY's two round trips and travel as
// statements. Copying is only for empty tables being filled from the start
// of the log: a copied row that conflicts fails the whole batch, which the
// rebuild then applies event by event. With minRows at math.MaxInt nothing
// is copied, which is how the live path pipelines.
type bulkWriter struct {
	tx      pgx.Tx
	depth   map[string]int
	minRows int
	// pending is what was added since the last send, in order; the last
	// rows of it are a run of new rows.
	pending []Write
	run     int
}

func newBulkWriter(tx pgx.Tx, depth map[string]int, minRows int) *bulkWriter {
	return &bulkWriter{tx: tx, depth: depth, minRows: minRows}
}

// add queues w, sending what came before when a long run of rows ends.
func (b *bulkWriter) add(ctx context.Context, w Write) error {
	if w.err != nil {
		return w.err
	}
	if w.into == nil && b.run >= b.minRows {
		if err := b.flush(ctx); err != nil {
			return err
		}
	}
	b.pending = append(b.pending, w)
	if w.into == nil {
		b.run = 0
	} else {
		b.run++
	}
	if len(b.pending)-b.run >= maxPipelined {
		return b.sendStatements(ctx, len(b.pending)-b.run)
	}
	return nil
}

// flush sends everything queued.
func (b *bulkWriter) flush(ctx context.Context) error {
	if b.run < b.minRows {
		return b.sendStatements(ctx, len(b.pending))
	}
	if err := b.sendStatements(ctx, len(b.pending)-b.run); err != nil {
		return err
	}
	return b.copyRun(ctx)
}

// sendStatements pipelines the first n pending writes, rows included.
func (b *bulkWriter) sendStatements(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, w := range b.pending[:n] {
		batch.Queue(w.sql, w.args...)
	}
	if err := b.tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("pipelined writes: %w", err)
	}
	b.pending = slices.Delete(b.pending, 0, n)
	b.run = min(b.run, len(b.pending))
	return nil
}

// copyRun copies the pending rows, which are all there is left: grouped by
// table in the order they first came, referenced tables first, so that
// foreign keys find their rows. A table's rows keep their order, and so do
// the values its sequences give them; a run that fills one table through
// two column lists would lose it, and goes as statements instead.
func (b *bulkWriter) copyRun(ctx context.Context) error {
	var shapes []*Columns
	rows := map[*Columns][][]any{}
	byTable := map[string]*Columns{}
	for _, w := range b.pending {
		if c, seen := byTable[w.into.table]; seen && c != w.into {
			return b.sendStatements(ctx, len(b.pending))
		}
		if _, seen := rows[w.into]; !seen {
			shapes = append(shapes, w.into)
			byTable[w.into.table] = w.into
		}
		rows[w.into] = append(rows[w.into], w.args)
	}
	slices.SortStableFunc(shapes, func(x, y *Columns) int { return cmp.Compare(b.depth[x.table], b.depth[y.table]) })
	for _, c := range shapes {
		if _, err := b.tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.names, pgx.CopyFromRows(rows[c])); err != nil {
			return fmt.Errorf("copy into %s: %w", c.table, err)
		}
	}
	b.pending, b.run = b.pending[:0], 0
	return nil
}

// tableDepths ranks the tables of a schema by foreign keys: a table that
// references none is at 0, one that does is deeper than those it
// references. Cycles stop deepening after as many passes as there are
// references; their rows then go in the order they came.
func tableDepths(ctx context.Context, q querier, schemaName string) (map[string]int, error) {
	rows, err := q.Query(ctx, `
SELECT child.relname, parent.relname
FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
JOIN pg_namespace n ON n.oid = child.relnamespace
WHERE k.contype = 'f' AND n.nspname = $1 AND k.conrelid <> k.confrelid`, schemaName)
	if err != nil {
		return nil, fmt.Errorf("read foreign keys of %s: %w", schemaName, err)
	}
	type reference struct{ child, parent string }
	refs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (reference, error) {
		var r reference
		return r, row.Scan(&r.child, &r.parent)
	})
	if err != nil {
		return nil, fmt.Errorf("read foreign keys of %s: %w", schemaName, err)
	}
	depth := map[string]int{}
	for range refs {
		for _, r := range refs {
			depth[r.child] = max(depth[r.child], depth[r.parent]+1)
		}
	}
	return depth, nil
}
