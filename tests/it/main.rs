mod util {}
