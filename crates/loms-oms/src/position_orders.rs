//! `GET /positions/{id}/orders`: a position's orders and the venue's fills of each.

use crate::{Oms, OmsError};
use loms_domain::PositionOrders;

impl Oms {
    /// Position `id`'s orders (its entry, then its exits), oldest first, each with its
    /// close reason and fills; the fills naming no order (stored before schema v9) apart.
    ///
    /// # Errors
    /// [`OmsError::NotFound`] when the position does not exist; [`OmsError::Storage`].
    pub async fn position_orders(&self, id: i64) -> Result<PositionOrders, OmsError> {
        self.read(move |s| s.position_orders(id))
            .await?
            .ok_or(OmsError::NotFound(id))
    }
}
