//! End-to-end tests: the real server, in-process on 127.0.0.1:0, over HTTP.

mod admin;
mod downtime;
mod edges;
mod entries;
mod exact;
mod exits;
mod fake_bitget;
mod flatten;
mod fuzz;
mod harness;
mod invalid;
mod lifecycle;
mod live;
mod openapi;
mod paper_safety;
mod position_orders;
mod replay_matches;
mod risk;
mod shadow;
