mod catalog;
mod policy;
mod input;
