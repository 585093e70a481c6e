-- The business database of the customer-service example (build: sqlite3 shop.db < shop.sql).
CREATE TABLE products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL,          -- yuan
    stock INTEGER NOT NULL
);
CREATE TABLE promotions (
    sku TEXT NOT NULL REFERENCES products(sku),
    discount REAL NOT NULL,       -- 0.1 = 10% off
    starts TEXT NOT NULL,         -- ISO dates
    ends TEXT NOT NULL
);
CREATE TABLE policies (
    topic TEXT PRIMARY KEY,
    rule TEXT NOT NULL
);
INSERT INTO products VALUES
    ('T-001', '西湖龙井 250g', '茶叶', 268.0, 40),
    ('T-002', '云南普洱 357g', '茶叶', 198.0, 0),
    ('C-001', '保温杯 500ml', '杯具', 89.0, 120),
    ('E-001', '蓝牙耳机 Pro', '数码', 399.0, 15);
INSERT INTO promotions VALUES
    ('C-001', 0.1, '2026-01-01', '2026-12-31'),
    ('T-001', 0.2, '2025-10-01', '2025-10-07');
INSERT INTO policies VALUES
    ('退货', '签收后 7 天内可无理由退货，商品需完好；食品类（茶叶）拆封后不退。'),
    ('发货', '工作日 16:00 前下单当天发货，默认顺丰快递。');
