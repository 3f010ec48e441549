from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestOrderImport(TransactionCase):
    def test_missing_columns_raise(self):
        batch = self.env["acme.sale.order.import"].create({"name": "t1", "source": "csv"})
        self.assertTrue(batch)
