import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { App } from "./App";
import { AuthProvider } from "./auth";

// A data router (rather than <BrowserRouter>) so screens can block navigation, e.g. the designer with
// unsaved changes; App keeps its routes in <Routes>.
const router = createBrowserRouter([
  {
    path: "*",
    element: (
      <AuthProvider>
        <App />
      </AuthProvider>
    ),
  },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
