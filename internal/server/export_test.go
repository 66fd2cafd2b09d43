package server

import "github.com/labstack/echo/v4"

// RouteList exposes the registered routes to the tests of package server_test.
func (s *Server) RouteList() []*echo.Route { return s.e.Routes() }
