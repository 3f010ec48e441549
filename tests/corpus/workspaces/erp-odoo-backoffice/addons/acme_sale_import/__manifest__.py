# -*- coding: utf-8 -*-
{
    "name": "Acme Sale Import",
    "summary": "Import web shop orders (CSV, EDIFACT ORDERS D96A) into sale orders",
    "version": "17.0.1.4.0",
    "category": "Sales/Sales",
    "author": "Acme Outdoor GmbH",
    "license": "LGPL-3",
    "depends": ["sale_management", "stock", "account", "delivery"],
    "data": [
        "security/security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron.xml",
        "views/sale_order_import_views.xml",
    ],
    "installable": True,
    "application": False,
}
