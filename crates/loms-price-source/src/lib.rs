//! LOMS price sources: the PriceSource trait and the seedable simulator
