/*
 * The demo's shop: customers, products, orders and order_items, created
 * and filled with set-based SQL (INSERT ... SELECT generate_series) sized
 * by a scale factor, with the indexes a healthy shop has (primary keys,
 * orders(customer_id), order_items(order_id), products(category, id)) and
 * deliberately not the ones the faults play with (order_items(product_id),
 * orders(status, ...)). orders has fillfactor 70 so that its updates are
 * HOT until something indexes the columns they change.
 *
 * Pointer arguments are borrowed. Never prints.
 */
#ifndef SLEUTH_DEMO_SHOP_H
#define SLEUTH_DEMO_SHOP_H

#include "util/compat.h"
#include "util/err.h"

#include <stdint.h>

/* Row counts; ids run from 1 to the count. */
struct demo_shop_sizes {
    int64_t customers;
    int64_t products;
    int64_t orders;
    int64_t order_items;
    int categories; /* products.category runs from 0 to categories - 1 */
};

/*
 * The sizes at a scale (> 0): at 1, 20k customers, 5k products with a
 * 500-byte description in 4 categories, 300k orders and 900k order items.
 * Products never go below 5k, so that a category always holds more than
 * a thousand of them.
 */
void demo_shop_sizes(double scale, struct demo_shop_sizes *out);

/*
 * Creates and fills the schema in the database conninfo names (as that
 * role, which then owns the tables), builds the indexes and runs VACUUM
 * ANALYZE. Errors: ERR_CONN, ERR_SQL (the failing statement quoted).
 */
MUST_CHECK int demo_shop_load(const char *conninfo, const struct demo_shop_sizes *sz,
                              struct err *err);

#endif
