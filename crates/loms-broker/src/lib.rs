//! LOMS broker adapters: the BrokerAdapter trait and the PaperSim broker
